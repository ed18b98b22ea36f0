
$0190a0b0-c0d0-7e0f-8000-100000000030$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001(2ˆ€×Ê:‰€×Ê@HR
annasalesZreq-30breq-30hpò
È
$inv_0190a0b0c0d0e0f00000000000000001
€¸áÊ€¸áÊA
$chg_0190a0b0c0d0e0f00000000000000001description 1¤&EUR A
$chg_0190a0b0c0d0e0f00000000000000001description 1¤&EUR "¤&EUR