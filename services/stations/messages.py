"""Stations' own message codes, in zh-CN and en."""

MESSAGES = {
    "station.not_found": {"en": "Station not found.", "zh-CN": "未找到该驿站"},
    "station.amenity_unknown": {
        "en": "Unknown amenity: {amenity}.",
        "zh-CN": "不认识的设施类型：{amenity}",
    },
    "opening_hours.syntax": {
        "en": "The opening hours are not valid at line {line}, column {column} ({expected}).",
        "zh-CN": "营业时间格式有误：第{line}行第{column}个字符处（{expected}）",
    },
    "finder.radius_too_large": {
        "en": "The search radius may be at most {limit} m.",
        "zh-CN": "搜索半径最大为{limit}米",
    },
    "coordinator.not_coordinator": {
        "en": "Only a staff account can be assigned as coordinator.",
        "zh-CN": "只能指派工作人员账号为驿站负责人",
    },
    "station.registration_not_granted": {
        "en": (
            "You have no grant to register stations under this branch. An admin can grant it, or grant"
            " it again for a branch created since."
        ),
        "zh-CN": "您没有在该基层工会下登记驿站的授权，请联系管理员授权（新设立的基层工会需重新授权）",
    },
    "registration_grant.not_found": {"en": "Registration grant not found.", "zh-CN": "未找到该驿站登记授权"},
    "station_code.malformed": {
        "en": "This is not a station check-in code.",
        "zh-CN": "这不是驿站签到二维码",
    },
    "station_code.signature": {
        "en": "This station code is not genuine.",
        "zh-CN": "驿站签到码校验失败，请扫描驿站张贴的二维码",
    },
    "station_code.revoked": {
        "en": "This station code has been withdrawn. Please scan the station's current poster.",
        "zh-CN": "该驿站二维码已停用，请扫描驿站最新张贴的二维码",
    },
    "duty_group.not_found": {"en": "Duty group not found.", "zh-CN": "未找到该值班小组"},
    "duty_group.empty": {
        "en": "A duty group with nobody in it cannot take a week.",
        "zh-CN": "该值班小组已无成员，无法排班",
    },
    "duty_group.member_inactive": {
        "en": "Member {member_id} is not an active member.",
        "zh-CN": "会员{member_id}当前不是有效会员",
    },
    "rota.no_groups": {
        "en": "Form duty groups before generating a rota.",
        "zh-CN": "请先组建值班小组再生成排班",
    },
    "rota.not_monday": {"en": "A rota week starts on a Monday.", "zh-CN": "排班周须从周一开始"},
    "rota.too_many_weeks": {"en": "At most {limit} weeks at a time.", "zh-CN": "一次最多排{limit}周"},
    "rota.in_past": {"en": "A rota cannot start in a past week.", "zh-CN": "排班不能从已过去的周开始"},
    "duty.not_found": {"en": "Duty not found.", "zh-CN": "未找到该值班任务"},
    "duty.not_yours": {"en": "This duty is not yours to swap.", "zh-CN": "这不是您的值班任务，无法换班"},
    "duty.past": {"en": "This duty has already begun or passed.", "zh-CN": "该值班任务已开始或已结束"},
    "swap.not_found": {"en": "Swap request not found.", "zh-CN": "未找到该换班申请"},
    "swap.not_pending": {"en": "This swap request is already settled.", "zh-CN": "该换班申请已处理"},
    "swap.same_member": {"en": "Choose another volunteer to swap with.", "zh-CN": "请选择其他志愿者换班"},
    "checkin.not_on_rota": {
        "en": "You are not on this station's rota now.",
        "zh-CN": "您当前不在该驿站的值班表上",
    },
    "checkin.too_far": {
        "en": "You need to be within {radius_m} m of the station to check in.",
        "zh-CN": "请在驿站{radius_m}米范围内签到",
    },
    "checkin.already": {"en": "You are already checked in.", "zh-CN": "您已签到，请勿重复签到"},
    "shift.not_found": {"en": "Shift not found.", "zh-CN": "未找到该值班记录"},
    "shift.none_open": {"en": "You are not on duty now.", "zh-CN": "您当前没有进行中的值班"},
    "shift.not_yours": {"en": "This is another volunteer's shift.", "zh-CN": "这是其他志愿者的值班记录"},
    "shift.ended": {"en": "This shift has already ended.", "zh-CN": "该值班已结束"},
    "log.value_required": {
        "en": "Say whether it was switched on or off.",
        "zh-CN": "请选择开启或关闭",
    },
    "log.note_required": {"en": "Write the note.", "zh-CN": "请填写备注内容"},
    "issue.not_found": {"en": "Problem report not found.", "zh-CN": "未找到该问题反馈"},
    "issue.resolved": {"en": "This problem is already resolved.", "zh-CN": "该问题已处理"},
    "locker.none": {"en": "This station has no lockers.", "zh-CN": "该驿站没有储物柜"},
    "locker.no_such_locker": {
        "en": "This station has lockers 1 to {count}.",
        "zh-CN": "该驿站储物柜编号为1至{count}",
    },
    "locker.occupied": {"en": "This locker is in use.", "zh-CN": "该储物柜已被使用"},
    "locker.full": {"en": "All lockers are in use.", "zh-CN": "储物柜已满"},
    "locker.courier_limit": {
        "en": "You already hold {limit} lockers here. Collect an item first.",
        "zh-CN": "您在本驿站已占用 {limit} 个储物柜，请先取出物品",
    },
    "locker.code_invalid": {
        "en": "The pickup code is wrong or the items were already collected.",
        "zh-CN": "取件码错误或物品已被取走",
    },
}
