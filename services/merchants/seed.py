"""Demo data for a local run: the merchants of the domain file (华联超市 with its stores around 铜仁,
搊和空间 in 遵义, the 松桃 union's 养生馆), an offer and a budget each, and a till login for 华联超市.

Run by ``unionhub seed`` after enrolment's seed, with the services up: the branches come from
enrolment's API and everything is made through merchants' own use cases, as an admin makes it, so
the till login is issued by enrolment. Idempotent: a demo merchant that exists is left alone, and so
is the till login (``till-huilian``, serving 华联超市's stores).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from services.common import demo, kit
from services.common.clock import SHANGHAI, local_day, now
from services.common.config import REPO_ROOT
from services.common.db import Database
from services.common.units import Units

from . import repository, service, tables
from .logins import Logins
from .model import COUNT, DAY, FIXED, MONEY, PERCENT, THRESHOLD, WEEK

DEFAULT_DOMAIN = REPO_ROOT / "deploy" / "seed" / "guizhou.json"
ACTOR = "seed"
TILL_USERNAME, TILL_MERCHANT = "till-huilian", "华联超市"

# What the domain file only names: each merchant's union, terms and stores (name suffix, address).
TERMS = {
    "华联超市": {
        "branch": "铜仁市总工会",
        # The union co-funds its 促消费 campaign: half of every discount.
        "merchant": {"union_share_percent": 50, "budget_kind": MONEY, "budget_total": 10_000_000},
        "hours": ("08:00", "22:00"),
        "sites": [
            ("中南门", "铜仁市碧江区中南门古城"),
            ("东太大道", "铜仁市碧江区东太大道"),
            ("锦江北路", "铜仁市碧江区锦江北路"),
            ("西门", "铜仁市碧江区西门路"),
            ("川硐", "铜仁市碧江区川硐街道"),
            ("灯塔", "铜仁市碧江区灯塔街道"),
            ("河西", "铜仁市碧江区河西街道"),
            ("谢桥", "铜仁市碧江区谢桥街道"),
            ("铜仁站", "铜仁市碧江区铜仁火车站广场"),
        ],
    },
    "搊和空间": {
        "branch": "遵义市总工会",
        "merchant": {"union_share_percent": 0, "budget_kind": COUNT, "budget_total": 5000},
        "hours": ("09:00", "21:00"),
        "sites": [("红花岗", "遵义市红花岗区中华路")],
    },
    "松桃县职工服务中心养生馆": {
        "branch": "松桃县总工会",
        # The union's own service centre: the union funds the whole discount.
        "merchant": {"union_share_percent": 100, "budget_kind": MONEY, "budget_total": 2_000_000},
        "hours": ("08:30", "18:00"),
        "sites": [("蓼皋", "铜仁市松桃苗族自治县蓼皋街道")],
    },
}


def _offers(at: datetime) -> dict[str, dict]:
    """Each merchant's offer as an admin posts it. The 满减 runs through the quarter but applies only
    in its 普惠周 (one a quarter), which starts today so that the demo finds it."""
    today = local_day(at)
    midnight = datetime.combine(today, time(0), SHANGHAI)
    return {
        "华联超市": {
            "title": "致敬劳动者·五一促消费 满100减10 满200减25 满300减40",
            "kind": THRESHOLD,
            "steps": [(10_000, 1_000), (20_000, 2_500), (30_000, 4_000)],
            "starts_at": midnight,
            "ends_at": midnight + timedelta(weeks=13),
            "benefit_weeks": [(today, today + timedelta(days=6))],
            "member_limit": 1,
            "limit_period": DAY,
            "budget_kind": MONEY,
            "budget_total": 3_000_000,
        },
        "搊和空间": {
            "title": "会员价阅读与课程 八折",
            "kind": PERCENT,
            "percent_off": 20,
            "cap_fen": 5_000,
            "starts_at": midnight,
            "ends_at": midnight + timedelta(days=365),
            "budget_kind": COUNT,
            "budget_total": 2_000,
        },
        "松桃县职工服务中心养生馆": {
            "title": "会员健康理疗立减30元",
            "kind": FIXED,
            "fixed_fen": 3_000,
            "starts_at": midnight,
            "ends_at": midnight + timedelta(days=365),
            "member_limit": 1,
            "limit_period": WEEK,
            "budget_kind": MONEY,
            "budget_total": 600_000,
        },
    }


def load(
    db: Database,
    domain: dict,
    branches: dict[str, dict],
    admin_token: str,
    units: Units,
    logins: Logins,
) -> dict:
    """What was created: merchants, stores, offers and till logins. ``branches`` are enrolment's units
    by name, each with its ``id`` and ``path``."""
    with db.unit_of_work().read_only() as uow:
        have = set(uow.connection.execute(select(tables.merchants.c.name)).scalars())
    offers = _offers(now())
    created = {"merchants": 0, "stores": 0, "offers": 0, "tills": 0}
    for spec in domain["merchants"]:
        if spec["name"] in have:
            continue
        terms = TERMS[spec["name"]]
        branch = branches[terms["branch"]]
        admin_units = [branch["id"]]
        merchant_id = service.create_merchant(
            db.unit_of_work(),
            units,
            admin_token,
            actor=ACTOR,
            branch_id=branch["id"],
            name=spec["name"],
            category=spec["category"],
            **terms["merchant"],
        )
        count = spec.get("stores", 1)
        for n, (suffix, address) in enumerate(terms["sites"][:count]):
            lat, lng = demo.around(domain["city_centres"][spec["city"]], n, count, inner=0.009, step=0.005)
            service.add_store(
                db.unit_of_work(),
                admin_units,
                merchant_id,
                name=f"{spec['name']}{suffix}店",
                address=address,
                lat=lat,
                lng=lng,
                open=True,
                opens_at=terms["hours"][0],
                closes_at=terms["hours"][1],
            )
        service.create_offer(db.unit_of_work(), admin_units, merchant_id=merchant_id, **offers[spec["name"]])
        created["merchants"] += 1
        created["stores"] += count
        created["offers"] += 1
    created["tills"] = _till(db, admin_token, logins)
    return created


def _till(db: Database, admin_token: str, logins: Logins) -> int:
    m, s = tables.merchants, tables.stores
    with db.unit_of_work().read_only() as uow:
        conn = uow.connection
        if repository.username_taken(conn, TILL_USERNAME):
            return 0
        merchant = conn.execute(select(m.c.id, m.c.branch_id).where(m.c.name == TILL_MERCHANT)).one()
        store_ids = list(conn.execute(select(s.c.id).where(s.c.merchant_id == merchant.id)).scalars())
    service.add_till_staff(
        db.unit_of_work(),
        logins,
        admin_token,
        [merchant.branch_id],
        merchant.id,
        username=TILL_USERNAME,
        password=os.environ.get("UNIONHUB_DEMO_PASSWORD", "unionhub-demo"),
        store_ids=store_ids,
    )
    return 1


def main(domain: str | None = None) -> None:
    settings = kit.load_settings("merchants")
    db = kit.database("merchants", settings)
    try:
        token = demo.admin_token(settings.enrolment_url)
        created = load(
            db,
            json.loads(Path(domain or DEFAULT_DOMAIN).read_text(encoding="utf-8")),
            demo.branches(settings.enrolment_url, token),
            token,
            Units(settings.enrolment_url),
            Logins(settings.enrolment_url),
        )
    finally:
        db.engine.dispose()
    if not any(created.values()):
        print("seeded merchants: the demo merchants and till login exist")
        return
    print(
        f"seeded merchants: {created['merchants']} new merchant(s), {created['stores']} store(s), "
        f"{created['offers']} offer(s), {created['tills']} till login(s)"
    )
