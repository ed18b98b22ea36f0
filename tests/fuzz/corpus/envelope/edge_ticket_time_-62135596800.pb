
$0190a0b0-c0d0-7e0f-8000-100000000012$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001(2€’¸Ã˜þÿÿÿ:Ñ÷ÖÊ@HR
annasalesZreq-12breq-12hpâS
$tkt_0190a0b0c0d0e0f00000000000000001	subject 1"description 1(0:€’¸Ã˜þÿÿÿ