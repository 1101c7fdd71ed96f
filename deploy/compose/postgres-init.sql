-- One database per service (services never read each other's data). The postgres image runs this
-- once, as POSTGRES_USER (unionhub, the owner of the new databases), when the data volume is empty.
-- Services create their own tables on start. A service added later needs its line here, and on an
-- existing volume: docker compose exec postgres createdb -U unionhub <service>
-- The names match DATABASE_URL=postgresql+psycopg://unionhub:unionhub@postgres:5432/{service}.
CREATE DATABASE enrolment;
CREATE DATABASE courses;
CREATE DATABASE merchants;
CREATE DATABASE stations;
