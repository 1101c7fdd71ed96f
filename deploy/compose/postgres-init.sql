-- One database per service of services/registry.py, built or planned (services never read each
-- other's data); tests/unit/test_compose.py fails when one is missing or not declared there. The
-- postgres image runs this once, as POSTGRES_USER (unionhub, the owner of the new databases), when
-- the data volume is empty; each service's `<name>-migrate` container then creates its tables (and
-- its database too, when a volume predates the line here).
-- The names match DATABASE_URL=postgresql+psycopg://unionhub:unionhub@postgres:5432/unionhub_{service}.
CREATE DATABASE unionhub_enrolment;
CREATE DATABASE unionhub_courses;
CREATE DATABASE unionhub_merchants;
CREATE DATABASE unionhub_stations;
CREATE DATABASE unionhub_web;
