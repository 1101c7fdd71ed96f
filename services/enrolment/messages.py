"""Enrolment's own message codes, in zh-CN and en."""

MESSAGES = {
    "login.failed": {"en": "Wrong username or password.", "zh-CN": "用户名或密码错误"},
    "wechat.code_invalid": {"en": "WeChat login failed. Please try again.", "zh-CN": "微信登录失败，请重试"},
    "wechat.unavailable": {
        "en": "WeChat login is unavailable right now.",
        "zh-CN": "微信登录暂不可用，请稍后再试",
    },
    "join.wechat_login_required": {
        "en": "Open the mini-app and log in with WeChat to join.",
        "zh-CN": "请在小程序中使用微信登录后再入会",
    },
    "consent.required": {
        "en": "Please read and agree to the privacy notice to join.",
        "zh-CN": "请阅读并同意《个人信息保护告知书》后再入会",
    },
    "campaign.not_found": {"en": "This QR code is not recognised.", "zh-CN": "无法识别该入会二维码"},
    "campaign.revoked": {
        "en": "This QR code has been withdrawn. Please scan the branch's current poster.",
        "zh-CN": "该入会二维码已停用，请扫描工会最新的入会海报",
    },
    "campaign.expired": {
        "en": "This enrolment campaign has ended.",
        "zh-CN": "该入会活动已结束",
    },
    "campaign.expiry_in_past": {
        "en": "The end time must be in the future.",
        "zh-CN": "结束时间须晚于当前时间",
    },
    "unit.not_found": {"en": "Unit not found.", "zh-CN": "未找到该工会组织"},
    "unit.not_branch": {
        "en": "Members join a grassroots branch, not a higher union.",
        "zh-CN": "会员须加入基层工会，不能直接加入上级工会",
    },
    "unit.branch_has_no_children": {
        "en": "A grassroots branch has no units below it.",
        "zh-CN": "基层工会下不能再设下级组织",
    },
    "unit.kind_order": {
        "en": "A unit must be of a lower level than its parent.",
        "zh-CN": "下级组织的层级须低于上级组织",
    },
    "member.already_joined": {
        "en": "You are already a member, of {branch}.",
        "zh-CN": "您已是工会会员，所属工会：{branch}",
    },
    "member.identity_disputed": {
        "en": "This ID number is already registered to a membership. The union has been asked to "
        "check it and will contact you.",
        "zh-CN": "该身份证号码已登记入会，工会将进行核实并与您联系",
    },
    "identity.mismatch": {
        "en": "The name and the ID number do not match. Please check both and try again.",
        "zh-CN": "姓名与身份证号码不一致，请核对后重新输入",
    },
    "identity.unavailable": {
        "en": "Identity checks are unavailable right now. Please try again later.",
        "zh-CN": "实名核验暂不可用，请稍后再试",
    },
    "sms.code_invalid": {
        "en": "The SMS code is wrong or no longer valid. Please request a new one.",
        "zh-CN": "短信验证码错误或已失效，请重新获取",
    },
    "sms.unavailable": {
        "en": "SMS codes are unavailable right now. Please try again later.",
        "zh-CN": "短信验证码暂不可用，请稍后再试",
    },
    "dispute.not_found": {"en": "Dispute not found.", "zh-CN": "未找到该身份争议"},
    "dispute.resolved": {"en": "This dispute is already resolved.", "zh-CN": "该身份争议已处理"},
    "dispute.claimant_is_member": {
        "en": "The claimant already holds another membership.",
        "zh-CN": "申诉人已持有其他会员资格",
    },
    "member.not_found": {"en": "Member not found.", "zh-CN": "未找到该会员"},
    "member.not_joined": {"en": "You have not joined the union yet.", "zh-CN": "您尚未入会"},
    "member.not_pending": {
        "en": "Only a pending application can be decided.",
        "zh-CN": "只有待审核的申请才能审批",
    },
    "member.not_active": {"en": "This membership is not active.", "zh-CN": "该会员资格当前无效"},
    "member.not_suspended": {
        "en": "Only a suspended member can be reinstated.",
        "zh-CN": "只有已暂停的会员才能恢复",
    },
    "member.not_current": {"en": "This person is no longer a member.", "zh-CN": "该人员已不是会员"},
    "member.same_branch": {"en": "The member already belongs to that branch.", "zh-CN": "该会员已在此工会"},
    "member.erased": {
        "en": "This member's personal data has been deleted.",
        "zh-CN": "该会员的个人信息已删除",
    },
    "staff.username_taken": {"en": "That username is taken.", "zh-CN": "该用户名已被使用"},
    "staff.claims_need_federation_admin": {
        "en": "Only a federation admin may create till or station staff accounts, or give an account "
        "merchant, store or station ids.",
        "zh-CN": "只有省总工会管理员可以创建商户收银或驿站人员账号，或为账号指定商户、门店、驿站",
    },
    "staff.unit_required": {
        "en": "An admin account needs the unit it manages.",
        "zh-CN": "管理员账号须指定所管理的工会组织",
    },
    "card_token.malformed": {"en": "This is not a member card code.", "zh-CN": "这不是有效的会员卡码"},
    "card_token.signature": {"en": "This member card code is not genuine.", "zh-CN": "会员卡码校验失败"},
    "card_token.expired": {
        "en": "This member card code has expired. Ask the member to refresh it.",
        "zh-CN": "会员卡码已过期，请会员刷新后重新出示",
    },
    "card_token.used": {
        "en": "This member card code was already used. Ask the member to refresh it.",
        "zh-CN": "该会员卡码已使用，请会员刷新后重新出示",
    },
}
