
$0190a0b0-c0d0-7e0f-8000-100000000027$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001(2‘˛÷ :’˛÷ @HR
annasalesZreq-27breq-27hpÚ
»
$inv_0190a0b0c0d0e0f00000000000000001
Ä∏· Ä∏· A
$chg_0190a0b0c0d0e0f00000000000000001description 1§&EUR A
$chg_0190a0b0c0d0e0f00000000000000001description 1§&EUR "§&EUR