
$0190a0b0-c0d0-7e0f-8000-100000000003$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001(2¥Û÷ :µÛ÷ @HR
annasalesZreq-3breq-3hp∫&

from_sku 1to_sku 1Äï‹ "note 1