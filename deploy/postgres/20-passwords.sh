#!/bin/sh
# Sets the service roles' passwords from the environment, for compose's
# Postgres (run from /docker-entrypoint-initdb.d after 10-roles.sql, on the
# first start of an empty data volume). Elsewhere, run the same with psql
# and the same variables, or set the passwords from your secret store.
#
#   ILEAPS_INTAKE_DB_PASSWORD, ILEAPS_SCHEDULING_DB_PASSWORD,
#   ILEAPS_ASSIGNMENT_DB_PASSWORD, ILEAPS_NOTIFICATIONS_DB_PASSWORD
#
# psql quotes each value (:'password'), so any character is safe in a password.
set -eu

for service in intake scheduling assignment notifications; do
  variable="ILEAPS_$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password=$(printenv "$variable" || true)
  if [ -z "$password" ]; then
    echo "20-passwords.sh: $variable is not set; role ileaps_$service gets no password" >&2
    exit 1
  fi
  # \getenv (psql 15+) keeps the password out of the process list.
  psql -v ON_ERROR_STOP=1 --quiet \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" <<SQL
\\getenv password $variable
ALTER ROLE ileaps_$service PASSWORD :'password';
SQL
done
echo "20-passwords.sh: passwords set for the four service roles"
