# Sourced by test.sh: makes sure MariaDB answers on 127.0.0.1:3306 and that the test user exists.
# The WordPress tests connect as bpm_test (password bpm_test), allowed only on bpm_test_* databases,
# so they never need root's credentials and work whether root uses a password, a socket or neither.
mariadb_ping() { mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u bpm_test -pbpm_test -e "SELECT 1" >/dev/null 2>&1; }

if ! mariadb-admin ping >/dev/null 2>&1 && ! mariadb-admin --protocol=tcp -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  echo "MariaDB is not running: starting it"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 100); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
if ! mariadb_ping; then
  root_sql() { mariadb -uroot "$@" 2>/dev/null || mariadb --protocol=tcp -h 127.0.0.1 -uroot "$@"; }
  root_sql -e "CREATE USER IF NOT EXISTS 'bpm_test'@'127.0.0.1' IDENTIFIED BY 'bpm_test';
               CREATE USER IF NOT EXISTS 'bpm_test'@'localhost' IDENTIFIED BY 'bpm_test';
               GRANT ALL PRIVILEGES ON \`bpm\\_test\\_%\`.* TO 'bpm_test'@'127.0.0.1';
               GRANT ALL PRIVILEGES ON \`bpm\\_test\\_%\`.* TO 'bpm_test'@'localhost';
               FLUSH PRIVILEGES;"
fi
export BPM_TEST_MYSQL_HOST=127.0.0.1 BPM_TEST_MYSQL_PORT=3306 BPM_TEST_MYSQL_USER=bpm_test BPM_TEST_MYSQL_PASSWORD=bpm_test
