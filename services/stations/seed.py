"""Demo data for a local run: a dozen courier rest stations (驿站) around 贵阳 and 遵义, the domain
file's 夷新驿站 among them, in the finder.

Run by ``unionhub seed`` after enrolment's seed, with the services up: the branches come from
enrolment's API and the stations are registered through this service's own use case, as an admin
registers them, which also puts each in the finder. Idempotent: a demo station that exists is left
alone (``unionhub stations-reindex`` refills the finder if Redis lost it).

Enrolment's demo coordinator login, ``station-demo``, is assigned to every new demo station.
"""

from __future__ import annotations

import json
from pathlib import Path

import redis
from sqlalchemy import select

from services.common import demo, kit
from services.common.auth import ADMIN, Principal
from services.common.config import REPO_ROOT
from services.common.db import Database
from services.common.units import Units

from . import service, tables

DEFAULT_DOMAIN = REPO_ROOT / "deploy" / "seed" / "guizhou.json"
ACTOR = "seed"
# Couriers' stations in 贵阳 belong to its express-delivery union; 遵义 has none, so its city union.
BRANCHES = {"贵阳": "贵阳市快递行业工会联合会", "遵义": "遵义市总工会"}
WEEKDAYS = "Mo-Fr 07:00-21:00; Sa,Su 09:00-18:00; PH off"
ALL_DAY = "24/7"
LATE = "Mo-Su 06:30-22:30"

# What a station offers by its kind: (amenities, lockers).
KINDS = {
    # a room in a shopping district where riders wait between orders
    "hub": (
        ["water", "microwave", "fridge", "charging", "ac_heating", "toilet", "lockers", "ebike_parking"],
        8,
    ),
    # a kiosk on a street: a drink, a charge, a first-aid box
    "kiosk": (["water", "charging", "first_aid", "ebike_parking"], 0),
    # by a depot or a railway station, where vans and lorries stop
    "depot": (["water", "microwave", "first_aid", "toilet", "lockers", "truck_parking"], 4),
}
# The domain file's example station, named there: its riders promise extended hours and weekends.
EXAMPLE = ("贵阳", "贵阳市云岩区中华北路商业街", "hub", LATE)
# (name, city, address, kind, opening hours)
STATIONS = [
    ("花果园驿站", "贵阳", "贵阳市南明区花果园大街", "hub", ALL_DAY),
    ("喷水池驿站", "贵阳", "贵阳市云岩区中华中路", "kiosk", LATE),
    ("观山湖驿站", "贵阳", "贵阳市观山湖区林城西路", "hub", WEEKDAYS),
    ("大营坡驿站", "贵阳", "贵阳市云岩区大营路", "kiosk", ALL_DAY),
    ("小河驿站", "贵阳", "贵阳市花溪区小河黄河路", "depot", WEEKDAYS),
    ("丁字口驿站", "遵义", "遵义市红花岗区中华路", "hub", WEEKDAYS),
    ("老城驿站", "遵义", "遵义市红花岗区老城红旗路", "kiosk", LATE),
    ("汇川驿站", "遵义", "遵义市汇川区上海路", "hub", ALL_DAY),
    ("南门关驿站", "遵义", "遵义市红花岗区南门关", "kiosk", WEEKDAYS),
    ("新蒲驿站", "遵义", "遵义市新蒲新区新蒲大道", "depot", LATE),
    ("遵义站驿站", "遵义", "遵义市南部新区遵义火车站广场", "depot", ALL_DAY),
]


def load(
    db: Database,
    client: redis.Redis,
    domain: dict,
    branches: dict[str, dict],
    admin_token: str,
    units: Units,
    coordinator_id: str | None = None,
) -> int:
    """Stations created. ``branches`` are enrolment's units by name, each with its ``id`` and ``path``."""
    with db.unit_of_work().read_only() as uow:
        have = set(uow.connection.execute(select(tables.stations.c.name)).scalars())
    stations = [(domain["stations"]["example"]["name"], *EXAMPLE), *STATIONS]
    created = 0
    registrar = Principal(ACTOR, frozenset({ADMIN}))  # enrolment checks the admin token's subtree
    for city in BRANCHES:
        here = [s for s in stations if s[1] == city]
        for n, (name, _, address, kind, opening_hours) in enumerate(here):
            if name in have:
                continue
            amenities, lockers = KINDS[kind]
            lat, lng = demo.around(domain["city_centres"][city], n, len(here), inner=0.01, step=0.008)
            station = service.create_station(
                db.unit_of_work(),
                client,
                units,
                registrar,
                token=admin_token,
                name=name,
                address=address,
                lat=lat,
                lng=lng,
                branch_id=branches[BRANCHES[city]]["id"],
                amenities=amenities,
                opening_hours=opening_hours,
                lockers=lockers,
            )
            if coordinator_id:
                admin = Principal(ACTOR, frozenset({ADMIN}), units=(station.branch_path[0],))
                service.assign_coordinator(db.unit_of_work(), admin, station.id, coordinator_id, actor=ACTOR)
            created += 1
    return created


def main(domain: str | None = None) -> None:
    settings = kit.load_settings("stations")
    db = kit.database("stations", settings)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        token = demo.admin_token(settings.enrolment_url)
        created = load(
            db,
            client,
            json.loads(Path(domain or DEFAULT_DOMAIN).read_text(encoding="utf-8")),
            demo.branches(settings.enrolment_url, token),
            token,
            Units(settings.enrolment_url),
            demo.staff_id(settings.enrolment_url, token, "station-demo"),
        )
    finally:
        client.close()
        db.engine.dispose()
    print(
        f"seeded stations: {created} new station(s), in the finder, coordinated by station-demo"
        if created
        else "seeded stations: the demo stations exist"
    )
