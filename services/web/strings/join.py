"""The H5 join page and the member card."""

# key: (zh-CN, en)
STRINGS: dict[str, tuple[str, str]] = {
    "join.title": ("加入工会", "Join the union"),
    "join.loading": ("正在读取入会信息…", "Loading the campaign…"),
    "join.branch": ("基层工会", "Branch"),
    "join.campaign": ("入会活动", "Campaign"),
    "join.approval": ("提交后需工会审核", "Your application will be reviewed by the branch"),
    "join.gone": (
        "该入会二维码已失效，请联系工会获取新的二维码",
        "This QR code is no longer valid. Ask the union for a new one.",
    ),
    "join.miniapp": (
        "请在微信中打开工会小程序扫码入会：浏览器无法完成微信登录。",
        "Please join in the union's WeChat mini-app: a browser cannot log in with WeChat.",
    ),
    "join.name": ("姓名", "Full name"),
    "join.mobile": ("手机号", "Mobile number"),
    "join.send_code": ("获取验证码", "Send code"),
    "join.code_sent": ("验证码已发送，{s}秒内有效", "Code sent; valid for {s} s"),
    "join.sms_code": ("短信验证码", "SMS code"),
    "join.id_number": ("身份证号", "Resident ID number"),
    "join.employer": ("工作单位或平台", "Employer or platform"),
    "join.occupation": ("职业", "Occupation"),
    "join.consent": (
        "我已阅读并同意《个人信息保护告知书》，同意工会为办理会员业务处理我的个人信息",
        "I have read the privacy notice and agree that the union processes my data for my membership",
    ),
    "join.submit": ("提交入会", "Join"),
    "card.title": ("会员卡", "Member card"),
    "card.no": ("会员卡号", "Card number"),
    "card.status": ("状态", "Status"),
    "card.hint": (
        "在商户收银台出示此二维码享受会员优惠，二维码每分钟更新",
        "Show this QR at a partner's till; it renews every minute",
    ),
    "card.refreshing": ("二维码更新中…", "Renewing the QR…"),
    "card.expires": ("{s}秒后更新", "Renews in {s} s"),
    "status.active": ("有效", "Active"),
    "status.pending": ("待审核", "Awaiting approval"),
    "status.suspended": ("已暂停", "Suspended"),
}
