-- A role and a database for Huiliu (run as the postgres superuser: psql -f deploy/postgres-init.sql).
-- Huiliu creates its tables itself (`huiliu migrate`) and one sequence per tenant for ticket numbers,
-- so the role owns its database.
CREATE ROLE huiliu LOGIN PASSWORD 'change-me';
CREATE DATABASE huiliu OWNER huiliu ENCODING 'UTF8' TEMPLATE template0;
