"""Demo data for a local run: a term of the workers' university (职工大学堂) at the city union of
Guiyang, with the courses of the domain file published and open for booking, at a venue whose
check-in desk is enrolment's demo login ``venue-demo``.

Run by ``unionhub seed`` after enrolment's seed, with the services up: the branch's place in the tree
comes from enrolment's API, as it does for an admin creating a term. Idempotent: an existing demo
term is left alone.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from services.common import demo, kit
from services.common.clock import local_day, now
from services.common.config import REPO_ROOT

from . import service, tables

DEFAULT_DOMAIN = REPO_ROOT / "deploy" / "seed" / "guizhou.json"
BRANCH = "贵阳市总工会"
TERM = "新时代职工大学堂·冬季班"
VENUE = ("贵阳市工人文化宫", "贵阳市云岩区中华北路")
CATEGORIES = {
    "健身操": "fitness", "动感单车": "fitness", "羽毛球": "ball_games", "乒乓球": "ball_games",
    "气排球": "ball_games", "游泳": "swimming", "瑜伽": "yoga", "爵士舞": "dance", "拉丁舞": "dance",
    "古典舞": "dance", "书法": "calligraphy", "茶艺": "tea_art", "烘焙": "baking",
    "手机摄影": "photography", "女子防身术": "self_defence", "少儿篮球": "kids", "少儿跆拳道": "kids",
}  # fmt: skip


def load(domain_path: Path) -> int:
    """Courses created; 0 when the demo term exists."""
    settings = kit.load_settings("courses")
    db = kit.database("courses", settings)
    try:
        with db.unit_of_work().read_only() as uow:
            if uow.connection.execute(select(tables.terms.c.id).where(tables.terms.c.name == TERM)).first():
                return 0
        domain = json.loads(domain_path.read_text(encoding="utf-8"))
        token = demo.admin_token(settings.enrolment_url)
        branch = demo.branches(settings.enrolment_url, token)[BRANCH]
        admin_units = [branch["id"]]
        opens = now()
        first_day = local_day(opens) + timedelta(days=7)
        venue_id = service.create_venue(
            db.unit_of_work(),
            branch_path=branch["path"],
            name=VENUE[0],
            address=VENUE[1],
            branch_id=branch["id"],
        )
        desk = demo.staff_id(settings.enrolment_url, token, "venue-demo")
        if desk:
            service.assign_venue_staff(db.unit_of_work(), admin_units, venue_id, desk)
        term_id = service.create_term(
            db.unit_of_work(),
            branch_path=branch["path"],
            name=TERM,
            branch_id=branch["id"],
            booking_opens_at=opens,
            booking_closes_at=opens + timedelta(days=30),
            starts_on=first_day,
            ends_on=first_day + timedelta(weeks=10),
            no_show_limit=settings.no_show_limit,
        )
        rules = domain.get("course_rules", {})
        for n, title in enumerate(domain["courses"]):
            kids = title in rules.get("kids", ())
            created = service.create_course(
                db.unit_of_work(),
                admin_units,
                term_id=term_id,
                venue_id=venue_id,
                title=title,
                category=CATEGORIES.get(title, "culture"),
                teacher=None,
                description=None,
                capacity=20 if kids else 30,
                # Evenings on weekdays, mornings at the weekend for children: when members are free.
                schedule={
                    "weekdays": [6] if kids else [1 + n % 5],
                    "start": "09:30" if kids else "19:00",
                    "minutes": 90,
                },
                cancel_hours=24,
                seats_per_member=2 if kids else 1,
                min_age=6 if kids else None,
                max_age=12 if kids else None,
                women_only=title in rules.get("women_only", ()),
                branch_ids=None,
            )
            service.publish_course(db.unit_of_work(), admin_units, created["id"])
        return len(domain["courses"])
    finally:
        db.engine.dispose()


def main(domain: str | None = None) -> None:
    created = load(Path(domain) if domain else DEFAULT_DOMAIN)
    print(f"seeded courses: {created} new course(s)" if created else "seeded courses: the demo term exists")
