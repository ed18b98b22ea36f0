
$0190a0b0-c0d0-7e0f-8000-100000000026$cus_0190a0b0c0d0e0f00000000000000001customer"$cus_0190a0b0c0d0e0f00000000000000001(2˜þÖÊ:™þÖÊ@HR
annasalesZreq-26breq-26hpÒ
µ
$chg_0190a0b0c0d0e0f00000000000000001$ord_0190a0b0c0d0e0f00000000000000001$itm_0190a0b0c0d0e0f00000000000000001"sku 1*description 12¤&EUR:ÿÿÿÿÿÿÿÿÿEUR@Jhold_reason 1