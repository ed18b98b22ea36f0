
$0190a0b0-c0d0-7e0f-8000-100000000004$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001(2ğóÖÊ:ñóÖÊ@HR
annasalesZreq-4breq-4hpÂ	outcome 1"note 1