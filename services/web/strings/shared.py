"""Text every page shares: the app's name, navigation, login, scanning, errors."""

# key: (zh-CN, en)
STRINGS: dict[str, tuple[str, str]] = {
    "app.name": ("工会服务", "UnionHub"),
    "lang.switch": ("English", "中文"),
    "nav.join": ("扫码入会", "Join"),
    "nav.till": ("商户收银", "Till"),
    "nav.duty": ("驿站值班", "Station duty"),
    "nav.admin": ("管理后台", "Admin console"),
    "index.intro": ("请选择要使用的页面。", "Choose the page you need."),
    "login.title": ("工作人员登录", "Staff login"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "logout": ("退出登录", "Log out"),
    "busy": ("处理中…", "Working…"),
    "error.network": ("网络不通，请检查网络后重试", "The network did not answer. Check it and try again."),
    "error.session": ("登录已失效，请重新登录", "Your login has expired. Please log in again."),
    "scan.start": ("打开摄像头扫码", "Scan with the camera"),
    "scan.stop": ("停止扫码", "Stop scanning"),
    "scan.unsupported": (
        "此浏览器无法使用摄像头扫码，请手动输入",
        "This browser cannot scan with the camera; type the code instead.",
    ),
    "scan.denied": ("未获得摄像头权限，请手动输入", "No camera access; type the code instead."),
    "yuan": ("元", "CNY"),
    "empty": ("暂无记录", "Nothing yet"),
}
