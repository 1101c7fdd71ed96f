"""Courses' own message codes, in zh-CN and en."""

MESSAGES = {
    "venue.not_found": {"en": "Venue not found.", "zh-CN": "未找到该场馆"},
    "term.not_found": {"en": "Term not found.", "zh-CN": "未找到该期课程"},
    "term.window_inverted": {
        "en": "Booking must close after it opens.",
        "zh-CN": "报名截止时间须晚于开始时间",
    },
    "term.dates_inverted": {"en": "The term must end after it starts.", "zh-CN": "结课日期须晚于开课日期"},
    "course.not_found": {"en": "Course not found.", "zh-CN": "未找到该课程"},
    "course.start_time": {"en": "Give the start time as HH:MM.", "zh-CN": "上课时间格式应为 HH:MM"},
    "course.no_sessions": {
        "en": "This schedule has no session within the term's dates.",
        "zh-CN": "该课程安排在本期日期内没有课次",
    },
    "course.too_many_sessions": {
        "en": "This schedule makes more than {limit} sessions.",
        "zh-CN": "该课程安排的课次超过 {limit} 次",
    },
    "course.age_range_inverted": {
        "en": "The maximum age must not be below the minimum age.",
        "zh-CN": "年龄上限不能低于年龄下限",
    },
    "course.already_published": {"en": "The course is published already.", "zh-CN": "该课程已发布"},
    "child.not_found": {"en": "Child not found.", "zh-CN": "未找到该子女信息"},
    "child.birth_date": {
        "en": "Give the child's birth date (under 18, not in the future).",
        "zh-CN": "请填写正确的子女出生日期（未满18周岁）",
    },
    "booking.not_found": {"en": "Booking not found.", "zh-CN": "未找到该预约"},
    "booking.not_open_yet": {
        "en": "Booking opens at {opens_at}.",
        "zh-CN": "报名将于 {opens_at} 开始",
    },
    "booking.closed": {"en": "Booking for this term has closed.", "zh-CN": "本期课程报名已截止"},
    "booking.duplicate": {
        "en": "This person already has a seat or a waitlist place on this course.",
        "zh-CN": "该学员已预约或已在候补名单中",
    },
    "booking.member_limit": {
        "en": "You may hold at most {limit} seat(s) on this course.",
        "zh-CN": "每位会员本课程最多预约 {limit} 个名额",
    },
    "booking.blocked_no_shows": {
        "en": "After {limit} missed sessions you cannot book again this term.",
        "zh-CN": "本期缺课已达 {limit} 次，暂不能继续预约",
    },
    "booking.branch_not_eligible": {
        "en": "This course is only for members of certain branches.",
        "zh-CN": "该课程仅面向指定基层工会的会员",
    },
    "booking.child_required": {
        "en": "This course is for children: choose which child to book for.",
        "zh-CN": "该课程面向会员子女，请选择要报名的子女",
    },
    "booking.age_not_eligible": {
        "en": "The participant's age is outside this course's range.",
        "zh-CN": "学员年龄不符合该课程要求",
    },
    "booking.women_only": {"en": "This course is for women only.", "zh-CN": "该课程仅面向女职工"},
    "booking.not_active": {"en": "This booking is no longer active.", "zh-CN": "该预约已失效"},
    "booking.cancel_deadline_passed": {
        "en": "It is too late to cancel this booking.",
        "zh-CN": "已过取消截止时间，无法取消",
    },
    "ticket.malformed": {"en": "This is not a course ticket.", "zh-CN": "无法识别该课程票券"},
    "ticket.signature": {"en": "This ticket is not valid.", "zh-CN": "该课程票券无效"},
    "ticket.unknown": {"en": "This ticket is not valid.", "zh-CN": "该课程票券无效"},
    "ticket.other_course": {
        "en": "This ticket is for another course.",
        "zh-CN": "该票券不属于本课程",
    },
    "checkin.not_your_venue": {
        "en": "You are not assigned to this course's venue.",
        "zh-CN": "您不是该课程场馆的工作人员",
    },
    "checkin.booking_waitlisted": {
        "en": "This booking is still on the waitlist.",
        "zh-CN": "该预约仍在候补中",
    },
    "checkin.booking_cancelled": {"en": "This booking was cancelled.", "zh-CN": "该预约已取消"},
    "checkin.no_session_now": {
        "en": "No session of this course is open for check-in now.",
        "zh-CN": "该课程当前没有可签到的课次",
    },
    "checkin.already": {
        "en": "This ticket was already used for this session at {first_at}.",
        "zh-CN": "该票券已于 {first_at} 签到，不能重复使用",
    },
    "profile.unavailable": {
        "en": "We cannot check this course's requirements right now. Please try again shortly.",
        "zh-CN": "暂时无法核验报名条件，请稍后再试",
    },
}
