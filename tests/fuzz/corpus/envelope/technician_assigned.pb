
$0190a0b0-c0d0-7e0f-8000-100000000009$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001(
2œöÖÊ:öÖÊ@HR
annasalesZreq-9breq-9hp
âI
#wo_0190a0b0c0d0e0f00000000000000001technician_id 1technician_name 1