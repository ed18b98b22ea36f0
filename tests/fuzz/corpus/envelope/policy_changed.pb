
$0190a0b0-c0d0-7e0f-8000-100000000038$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001('2èƒ×Ê:éƒ×Ê@HR
annasalesZreq-38breq-38hp'â/
digest 1source 1file 1"previous_digest 1