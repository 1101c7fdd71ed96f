"""Demo data for a local run: Guizhou's union tree, grassroots branches, campaigns and staff logins.

Idempotent: units, campaigns and accounts that exist already are left alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select

from services.common import kit
from services.common.config import REPO_ROOT

from . import accounts, service, tables
from .settings import EnrolmentSettings
from .startup import ROOT_UNIT_NAME

DEFAULT_DOMAIN = REPO_ROOT / "deploy" / "seed" / "guizhou.json"

# Demo staff: (username, env var holding the password, default password, roles, unit name)
DEMO_STAFF = [
    ("tongren-admin", "UNIONHUB_DEMO_PASSWORD", "unionhub-demo", ["admin"], "铜仁市总工会"),
    ("express-admin", "UNIONHUB_DEMO_PASSWORD", "unionhub-demo", ["admin"], "贵阳市快递行业工会联合会"),
    ("station-demo", "UNIONHUB_DEMO_PASSWORD", "unionhub-demo", ["coordinator"], None),
    ("venue-demo", "UNIONHUB_DEMO_PASSWORD", "unionhub-demo", ["venue"], "贵阳市总工会"),
]


def _units_by_name(uow) -> dict:
    return {r.name: r for r in uow.connection.execute(select(tables.units))}


def _plant(uow, node: dict, parent_id: str, root_path: str, platforms: list[str]) -> None:
    existing = _units_by_name(uow)
    unit = existing.get(node["name"])
    if unit is None:
        unit = service.new_unit(
            uow.connection,
            [root_path],
            name=node["name"],
            parent_id=parent_id,
            kind=node["kind"],
            requires_approval=False,
        )
    children = list(node.get("children", []))
    if node["kind"] == "industry":
        # Industry unions organise couriers and riders by platform: one grassroots branch per platform.
        city = node["name"].split("市")[0]
        children += [{"name": f"{city}{p}分会", "kind": "branch"} for p in platforms[:3]]
    for child in children:
        _plant(uow, child, unit.id, root_path, platforms)


def load(domain_path: Path, settings: EnrolmentSettings) -> dict:
    domain = json.loads(domain_path.read_text(encoding="utf-8"))
    database = kit.database("enrolment", settings)
    with database.unit_of_work() as uow:
        root = service.ensure_root(uow.connection, ROOT_UNIT_NAME)
        for child in domain["org_units"][0].get("children", []):
            _plant(uow, child, root.id, root.path, domain["platforms"])
        units = _units_by_name(uow)
        have = {r.unit_id for r in uow.connection.execute(select(tables.campaigns.c.unit_id))}
        campaigns = []
        for unit in units.values():
            if unit.kind == "branch" and unit.id not in have:
                campaigns.append(
                    service.new_campaign(
                        uow.connection, [root.path], branch_id=unit.id, name=f"{unit.name}扫码入会",
                        site=f"{unit.name}服务站点", expires_at=None, actor="seed",
                    )
                )  # fmt: skip
        taken = {r.username for r in uow.connection.execute(select(tables.staff.c.username))}
        for username, env, default, roles, unit_name in DEMO_STAFF:
            if username not in taken:
                accounts.new_staff(
                    uow.connection, [root.path], actor="seed", username=username,
                    password=os.environ.get(env, default), roles=roles,
                    unit_id=units[unit_name].id if unit_name else None,
                )  # fmt: skip
        uow.commit()
    return {"units": len(units), "new_campaigns": len(campaigns)}


def main(domain: str | None = None) -> None:
    settings = kit.load_settings("enrolment")
    summary = load(Path(domain) if domain else DEFAULT_DOMAIN, settings)
    print(f"seeded enrolment: {summary['units']} units, {summary['new_campaigns']} new campaigns")
