"""Merchants' own message codes, in zh-CN and en."""

MESSAGES = {
    "merchant.not_found": {"en": "Merchant not found.", "zh-CN": "未找到该商户"},
    "store.not_found": {"en": "Store not found.", "zh-CN": "未找到该门店"},
    "store.not_of_merchant": {
        "en": "This store does not belong to this merchant.",
        "zh-CN": "该门店不属于此商户",
    },
    "store.not_assigned": {
        "en": "Your till login does not serve this store.",
        "zh-CN": "您的收银账号未分配到该门店",
    },
    "store.hours_incomplete": {
        "en": "Give both the opening and the closing time, or neither.",
        "zh-CN": "营业开始和结束时间须同时填写或同时留空",
    },
    "hours.empty": {
        "en": "The opening and closing times are the same: leave both out to be open all day.",
        "zh-CN": "开始和结束时间相同：全天营业请两项都不填",
    },
    "staff.username_taken": {"en": "This username is taken.", "zh-CN": "该用户名已被使用"},
    "staff.enrolment_refused": {
        "en": "The login service refused to create this till login.",
        "zh-CN": "登录服务拒绝创建该收银账号",
    },
    "offer.not_found": {"en": "Offer not found.", "zh-CN": "未找到该优惠"},
    "offer.steps_not_increasing": {
        "en": "Each step must have a higher minimum spend and take more off than the one below it.",
        "zh-CN": "满减档位须逐档提高门槛并加大减免金额",
    },
    "offer.benefit_week_reversed": {
        "en": "A benefit week's last day cannot come before its first day.",
        "zh-CN": "普惠周的结束日期不能早于开始日期",
    },
    "offer.not_of_merchant": {
        "en": "This offer is not one of this store's merchant.",
        "zh-CN": "该优惠不属于此门店的商户",
    },
    "offer.outside_window": {
        "en": "This offer is not valid at this time.",
        "zh-CN": "该优惠当前不在有效时段内",
    },
    "offer.threshold_not_met": {
        "en": "The bill does not reach this offer's minimum spend.",
        "zh-CN": "消费金额未达到该优惠的门槛",
    },
    "offer.limit_reached": {
        "en": "The member has used this offer as often as allowed for now.",
        "zh-CN": "该会员本周期内使用此优惠的次数已达上限",
    },
    "offer.budget_exhausted": {
        "en": "This offer's budget is used up.",
        "zh-CN": "该优惠的预算已用完",
    },
    "merchant.budget_exhausted": {
        "en": "This merchant's discount budget is used up.",
        "zh-CN": "该商户的优惠预算已用完",
    },
    "offer.none_applies": {
        "en": "No offer of this merchant applies to this bill now.",
        "zh-CN": "该商户当前没有适用于此笔消费的优惠",
    },
    "offer.kind_fields": {
        "en": "A percent offer needs percent_off, a threshold offer steps, a fixed offer fixed_fen.",
        "zh-CN": "折扣优惠须填写折扣比例，满减优惠须填写满减档位，立减优惠须填写立减金额",
    },
    "offer.window_empty": {
        "en": "The offer must end after it starts.",
        "zh-CN": "优惠结束时间须晚于开始时间",
    },
    "offer.limit_fields": {
        "en": "A member limit needs its period (day, week or campaign), and a period its limit.",
        "zh-CN": "每人限用次数须同时指定周期（日、周或活动期）",
    },
    "budget.fields": {
        "en": "A budget needs its kind (money or count) and its total.",
        "zh-CN": "预算须同时指定类型（金额或次数）和总额",
    },
    "amount.out_of_range": {
        "en": "The bill amount must be between 1 fen and {max_fen} fen.",
        "zh-CN": "消费金额须在1分至{max_fen}分之间",
    },
    "redemption.not_found": {"en": "Redemption not found.", "zh-CN": "未找到该核销记录"},
    "redemption.refund_too_large": {
        "en": "The refund is more than what is left of the bill ({left_fen} fen).",
        "zh-CN": "退款金额超过该笔消费的剩余金额（{left_fen}分）",
    },
    "redemption.fully_reversed": {
        "en": "This redemption has already been refunded in full.",
        "zh-CN": "该笔核销已全额退款",
    },
    "card_token.malformed": {"en": "This is not a member card code.", "zh-CN": "这不是有效的会员卡码"},
    "card_token.signature": {"en": "This member card code is not genuine.", "zh-CN": "会员卡码校验失败"},
    "card_token.expired": {
        "en": "This member card code has expired. Ask the member to refresh it.",
        "zh-CN": "会员卡码已过期，请会员刷新后重试",
    },
    "card_token.used": {
        "en": "This member card code has already been used. Ask the member to refresh it.",
        "zh-CN": "该会员卡码已使用，请会员刷新后重试",
    },
    "card_keys.unavailable": {
        "en": "Member cards cannot be checked right now. Please try again shortly.",
        "zh-CN": "暂时无法校验会员卡，请稍后再试",
    },
    "month.invalid": {"en": "Give the month as YYYY-MM.", "zh-CN": "月份格式应为YYYY-MM"},
    "voucher.expiry_in_past": {"en": "The expiry must be in the future.", "zh-CN": "有效期须晚于当前时间"},
    "voucher.not_found": {"en": "Voucher not found.", "zh-CN": "未找到该代金券"},
    "voucher.not_of_member": {
        "en": "This voucher belongs to another member.",
        "zh-CN": "该代金券不属于此会员",
    },
    "voucher.used": {"en": "This voucher has already been used.", "zh-CN": "该代金券已使用"},
    "voucher.expired": {"en": "This voucher has expired.", "zh-CN": "该代金券已过期"},
    "voucher.nothing_to_pay": {
        "en": "The offer already covers the whole bill: keep the voucher for another time.",
        "zh-CN": "优惠后已无需付款，代金券请留待下次使用",
    },
    "idempotency_key.required": {
        "en": "Send an Idempotency-Key header, so a retry cannot apply twice.",
        "zh-CN": "请在请求头中提供Idempotency-Key，以免重试时重复处理",
    },
}
