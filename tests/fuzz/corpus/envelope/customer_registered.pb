
$0190a0b0-c0d0-7e0f-8000-100000000000$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001(2ÄÚ÷ :ÅÚ÷ @HR
annasalesZreq-0breq-0hp¢®
$cus_0190a0b0c0d0e0f00000000000000001name 1+31612345670+31612345671"anna0@example.com"anna1@example.com*4
line1 1line2 1postal_code 1"city 1*	country 10