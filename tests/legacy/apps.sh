#!/bin/bash
# The legacy apps of the gateway's end-to-end tests, from Debian's packages, on loopback ports,
# without systemd (as root, on Debian 12). The pytest fixtures in this folder call it.
#
#   tests/legacy/apps.sh install              # apt packages (debconf preseeded)
#   tests/legacy/apps.sh setup wordpress      # databases, config files, admin user
#   tests/legacy/apps.sh start wordpress      # start, wait until it answers
#   tests/legacy/apps.sh stop [APP...]        # stop what start started
#   tests/legacy/apps.sh reset                # undo setup
#
# Ports (loopback only): 18091 WordPress (apache2 in the foreground with a private config,
# mod_php); 18092 phpMyAdmin (the same apache2); 18083 Redmine (rails server -u webrick);
# 18084 Tomcat (catalina.sh run, a scratch CATALINA_BASE).
set -euo pipefail
RUN=/var/lib/mfa-legacy/run           # pid files, logs
APACHE_DIR=/var/lib/mfa-legacy/apache
TC_BASE=/var/lib/mfa-legacy/tomcat
RM_GEMDIR=/var/lib/mfa-legacy/redmine
RM_DB=/var/lib/redmine/default/db/production.sqlite3

WP_PORT=18091 PMA_PORT=18092 RM_PORT=18083 TC_PORT=18084
WP_ADMIN=admin WP_PASS='Adm1n-Pass!'
PMA_USER=pma_test PMA_PASS=pma_test_pw
RM_ADMIN=admin RM_PASS='Adm1n-Pass!'
TC_USER=tomcat TC_PASS=Tomcat-Pass1 TC_MGR=mgr TC_MGR_PASS=Mgr-Pass1 TC_GUI=gui TC_GUI_PASS=Gui-Pass1

export DEBIAN_FRONTEND=noninteractive

wait_http() { # url [tries of 0.1 s]
  local i
  for i in $(seq 1 "${2:-600}"); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0
    sleep 0.1
  done
  echo "timeout waiting for $1" >&2; return 1
}

do_install() {
  debconf-set-selections <<'EOF'
phpmyadmin phpmyadmin/dbconfig-install boolean false
phpmyadmin phpmyadmin/reconfigure-webserver multiselect
redmine redmine/instances/default/dbconfig-install boolean false
redmine redmine/instances/default/database-type select sqlite3
EOF
  apt-get update -qq
  nice apt-get install -y -q --no-install-recommends \
    wordpress wordpress-theme-twentytwentythree phpmyadmin redmine redmine-sqlite \
    tomcat10 tomcat10-examples tomcat10-admin curl sqlite3
  # (theme: a Recommends of wordpress; without it the front page is an empty 200)
}

setup_mariadb() {
  mkdir -p "$RUN"
  # ---------- MariaDB: databases and password users (root is socket-auth only)
  mysql <<EOF
CREATE DATABASE IF NOT EXISTS wp_test CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'wp_test'@'localhost' IDENTIFIED BY 'wp_test_pw';
CREATE USER IF NOT EXISTS 'wp_test'@'127.0.0.1' IDENTIFIED BY 'wp_test_pw';
GRANT ALL ON wp_test.* TO 'wp_test'@'localhost';
GRANT ALL ON wp_test.* TO 'wp_test'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS pma_demo;
CREATE USER IF NOT EXISTS '$PMA_USER'@'localhost' IDENTIFIED BY '$PMA_PASS';
CREATE USER IF NOT EXISTS '$PMA_USER'@'127.0.0.1' IDENTIFIED BY '$PMA_PASS';
GRANT ALL ON pma_demo.* TO '$PMA_USER'@'localhost';
GRANT ALL ON pma_demo.* TO '$PMA_USER'@'127.0.0.1';
EOF

}
setup_wordpress_files() {
  mkdir -p "$RUN"
  # ---------- WordPress: Debian's /usr/share/wordpress/wp-config.php loads
  # /etc/wordpress/config-<Host without port>.php, else config-default.php
  cat > /etc/wordpress/config-default.php <<'EOF'
<?php
define('DB_NAME', 'wp_test');
define('DB_USER', 'wp_test');
define('DB_PASSWORD', 'wp_test_pw');
define('DB_HOST', '127.0.0.1');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('AUTH_KEY',         'test-auth-key-0123456789');
define('SECURE_AUTH_KEY',  'test-secure-auth-key-0123456789');
define('LOGGED_IN_KEY',    'test-logged-in-key-0123456789');
define('NONCE_KEY',        'test-nonce-key-0123456789');
define('AUTH_SALT',        'test-auth-salt-0123456789');
define('SECURE_AUTH_SALT', 'test-secure-auth-salt-0123456789');
define('LOGGED_IN_SALT',   'test-logged-in-salt-0123456789');
define('NONCE_SALT',       'test-nonce-salt-0123456789');
/* 'local' allows application passwords over plain HTTP */
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('FS_METHOD', 'direct');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
$table_prefix = 'wp_';
/* Follow the Host the request came with (the gateway's), not the siteurl stored at install.
   NB: cookie names then carry md5("http://<that host>"). */
if (isset($_SERVER['HTTP_HOST'])) {
    $scheme = (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && $_SERVER['HTTP_X_FORWARDED_PROTO'] === 'https') ? 'https' : 'http';
    define('WP_HOME', $scheme . '://' . $_SERVER['HTTP_HOST']);
    define('WP_SITEURL', $scheme . '://' . $_SERVER['HTTP_HOST']);
}
EOF
  chmod 644 /etc/wordpress/config-default.php

}
setup_phpmyadmin_files() {
  mkdir -p "$RUN"
  # ---------- phpMyAdmin: one server, cookie auth, TCP to 127.0.0.1:3306, no pmadb
  cat > /etc/phpmyadmin/conf.d/zz-harness.php <<'EOF'
<?php
$cfg['Servers'] = [];
$cfg['Servers'][1] = [
    'auth_type'       => 'cookie',
    'host'            => '127.0.0.1',
    'port'            => '3306',
    'connect_type'    => 'tcp',
    'compress'        => false,
    'AllowNoPassword' => false,
];
$cfg['ServerDefault'] = 1;
$cfg['TempDir'] = '/var/lib/phpmyadmin/tmp';
$cfg['VersionCheck'] = false;
$cfg['SendErrorReports'] = 'never';
EOF
  chmod 644 /etc/phpmyadmin/conf.d/zz-harness.php

}
setup_apache() {
  mkdir -p "$RUN"
  # ---------- apache2 private config (WordPress + phpMyAdmin)
  mkdir -p "$APACHE_DIR"/{run,logs,lock}
  cat > "$APACHE_DIR/httpd.conf" <<EOF
ServerRoot "/etc/apache2"
ServerName 127.0.0.1
PidFile $APACHE_DIR/run/httpd.pid
Mutex file:$APACHE_DIR/lock default
DefaultRuntimeDir $APACHE_DIR/run
ErrorLog $APACHE_DIR/logs/error.log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule php_module /usr/lib/apache2/modules/libphp8.2.so
TypesConfig /etc/mime.types
StartServers 2
MinSpareServers 2
MaxSpareServers 4
MaxRequestWorkers 8
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog $APACHE_DIR/logs/access.log common
DirectoryIndex index.php index.html
<FilesMatch "\.php$">
    SetHandler application/x-httpd-php
</FilesMatch>

Listen 127.0.0.1:$WP_PORT
<VirtualHost 127.0.0.1:$WP_PORT>
    DocumentRoot /usr/share/wordpress
    <Directory /usr/share/wordpress>
        Options FollowSymLinks
        AllowOverride None
        Require all granted
        # WordPress front controller (makes /wp-json/... work)
        RewriteEngine On
        RewriteCond %{REQUEST_FILENAME} !-f
        RewriteCond %{REQUEST_FILENAME} !-d
        RewriteRule . /index.php [L]
    </Directory>
    Alias /wp-content /var/lib/wordpress/wp-content
    <Directory /var/lib/wordpress/wp-content>
        Options FollowSymLinks
        Require all granted
    </Directory>
</VirtualHost>

Listen 127.0.0.1:$PMA_PORT
<VirtualHost 127.0.0.1:$PMA_PORT>
    DocumentRoot /usr/share/phpmyadmin
    <Directory /usr/share/phpmyadmin>
        Require all granted
    </Directory>
</VirtualHost>
EOF
  apache2 -t -f "$APACHE_DIR/httpd.conf"

}
setup_redmine() {
  mkdir -p "$RUN"
  # ---------- Redmine (Debian instance "default", SQLite)
  mkdir -p "$(dirname "$RM_DB")" "$RM_GEMDIR"
  cat > /etc/redmine/default/database.yml <<EOF
production:
  adapter: sqlite3
  database: $RM_DB
  pool: 5
  timeout: 5000
EOF
  # Debian's Gemfile has no app server; bundler then hides ruby-webrick. Wrap it.
  cat > "$RM_GEMDIR/Gemfile" <<'EOF'
eval_gemfile '/usr/share/redmine/Gemfile'
gem 'webrick'
EOF
  # Debian names the session cookie "Redmine" (multitenancy_environment.rb uses
  # Redmine.name); restore upstream's "_redmine_session".
  cat > /usr/share/redmine/config/additional_environment.rb <<'EOF'
config.session_store :cookie_store, :key => '_redmine_session', :path => '/'
EOF
  export BUNDLE_GEMFILE="$RM_GEMDIR/Gemfile" RAILS_ENV=production
  (cd /usr/share/redmine && nice bin/rake db:migrate > "$RUN/redmine-migrate.log" 2>&1)
  (cd /usr/share/redmine && REDMINE_LANG=en nice bin/rake redmine:load_default_data >> "$RUN/redmine-migrate.log" 2>&1)
  cat > "$RUN/redmine-setup.rb" <<EOF
u = User.find_by_login('admin')
u.login = '$RM_ADMIN'
u.password = '$RM_PASS'
u.password_confirmation = '$RM_PASS'
u.must_change_passwd = false      # default admin/admin is forced to /my/password
u.save!
Setting.rest_api_enabled = '0'    # off, as config/examples/redmine.yaml asks: keys are one factor
Setting.autologin = '7'           # days; '0' (default) hides "Stay logged in"
Setting.login_required = '1'
File.write('$RUN/redmine-api-key', u.api_key)
EOF
  (cd /usr/share/redmine && bin/rails runner "$RUN/redmine-setup.rb")

}
setup_tomcat() {
  mkdir -p "$RUN"
  # ---------- Tomcat: scratch CATALINA_BASE
  rm -rf "$TC_BASE"
  mkdir -p "$TC_BASE"/{logs,temp,webapps,work}
  cp -rL /etc/tomcat10 "$TC_BASE/conf"
  rm -f "$TC_BASE/conf/Catalina/localhost/host-manager.xml"
  sed -i "s/port=\"8080\"/port=\"$TC_PORT\" address=\"127.0.0.1\"/" "$TC_BASE/conf/server.xml"
  # LockOutRealm locks a user for 300 s after 5 failures: tests of bad passwords would lock it.
  sed -i 's|<Realm className="org.apache.catalina.realm.LockOutRealm">|<Realm className="org.apache.catalina.realm.LockOutRealm" failureCount="1000000" lockOutTime="1">|' "$TC_BASE/conf/server.xml"
  cat > "$TC_BASE/conf/tomcat-users.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<tomcat-users xmlns="http://tomcat.apache.org/xml"
              xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
              xsi:schemaLocation="http://tomcat.apache.org/xml tomcat-users.xsd"
              version="1.0">
  <role rolename="tomcat"/>
  <role rolename="role1"/>
  <role rolename="manager-script"/>
  <role rolename="manager-gui"/>
  <user username="$TC_USER" password="$TC_PASS" roles="tomcat,role1"/>
  <user username="$TC_MGR" password="$TC_MGR_PASS" roles="manager-script"/>
  <user username="$TC_GUI" password="$TC_GUI_PASS" roles="manager-gui"/>
</tomcat-users>
EOF

}
install_wordpress() {
  mkdir -p "$RUN"
  # ---------- WordPress install (needs the web server up once)
  start_apache
  curl -sf -o /dev/null "http://127.0.0.1:$WP_PORT/wp-admin/install.php?step=2" \
    --data-urlencode weblog_title=TestWP --data-urlencode "user_name=$WP_ADMIN" \
    --data-urlencode "admin_password=$WP_PASS" --data-urlencode "admin_password2=$WP_PASS" \
    --data pw_weak=1 --data-urlencode admin_email=admin@example.com \
    --data blog_public=0 --data language=
  # application password for REST (Basic auth) -> $RUN/wp-app-password
  cat > "$RUN/wp-apppw.php" <<'EOF'
<?php
$_SERVER['HTTP_HOST'] = '127.0.0.1';
require '/usr/share/wordpress/wp-load.php';
$r = WP_Application_Passwords::create_new_application_password(1, array('name' => 'harness-' . uniqid()));
if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\n"); exit(1); }
echo $r[0], "\n";
EOF
  php "$RUN/wp-apppw.php" > "$RUN/wp-app-password"
  stop_pid apache
}

# WordPress and phpMyAdmin share the apache2 process.
setup_app() {
  case "$1" in
    wordpress|phpmyadmin)
      stop_pid apache
      setup_mariadb; setup_wordpress_files; setup_phpmyadmin_files; setup_apache
      [ -s "$RUN/wp-app-password" ] || install_wordpress ;;
    redmine) stop_pid redmine; setup_redmine ;;
    tomcat) stop_pid tomcat; setup_tomcat ;;
    *) echo "unknown app: $1" >&2; exit 2 ;;
  esac
}

start_apache() {
  mkdir -p "$RUN"
  setsid apache2 -f "$APACHE_DIR/httpd.conf" -DFOREGROUND > "$RUN/apache.out" 2>&1 &
  echo $! > "$RUN/apache.pid"
  wait_http "http://127.0.0.1:$WP_PORT/wp-login.php"
  wait_http "http://127.0.0.1:$PMA_PORT/"
}

start_redmine() {
  # Not "(cd X && setsid ... &)": then $! is a bash subshell, not the server's group.
  rm -f "$RUN/redmine-server.pid"
  BUNDLE_GEMFILE="$RM_GEMDIR/Gemfile" setsid /usr/share/redmine/bin/rails server \
     -u webrick -e production -b 127.0.0.1 -p "$RM_PORT" -P "$RUN/redmine-server.pid" \
     > "$RUN/redmine.out" 2>&1 &
  echo $! > "$RUN/redmine.pid"
  wait_http "http://127.0.0.1:$RM_PORT/login"
}

start_tomcat() {
  CATALINA_HOME=/usr/share/tomcat10 CATALINA_BASE="$TC_BASE" CATALINA_TMPDIR="$TC_BASE/temp" \
    JAVA_OPTS="-Djava.awt.headless=true -Xmx256m" \
    setsid /usr/share/tomcat10/bin/catalina.sh run > "$RUN/tomcat.out" 2>&1 &
  echo $! > "$RUN/tomcat.pid"     # catalina.sh "run" execs java: this is the JVM's pid
  local i
  for i in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -u "$TC_MGR:$TC_MGR_PASS" "http://127.0.0.1:$TC_PORT/manager/text/list")" = 200 ] && return 0
    sleep 0.1
  done
  echo "tomcat did not come up" >&2; return 1
}

stop_pid() { # name
  local f="$RUN/$1.pid" p i
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  # Each server was started with setsid, so its pid is also its process-group id.
  # Signal the whole group: e.g. php -S workers (PHP_CLI_SERVER_WORKERS) survive a
  # TERM sent only to their parent.
  if kill -0 -- "-$p" 2>/dev/null; then
    kill -TERM -- "-$p"
    for i in $(seq 1 150); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 -- "-$p" 2>/dev/null; then kill -KILL -- "-$p"; fi
  fi
  rm -f "$f"
}

start_app() {
  mkdir -p "$RUN"
  case "$1" in
    wordpress|phpmyadmin) [ -f "$RUN/apache.pid" ] || start_apache ;;
    redmine) [ -f "$RUN/redmine.pid" ] || start_redmine ;;
    tomcat) [ -f "$RUN/tomcat.pid" ] || start_tomcat ;;
    *) echo "unknown app: $1" >&2; exit 2 ;;
  esac
}

# The named apps' servers, or all of them.
do_stop() {
  [ "$#" -gt 0 ] || set -- wordpress redmine tomcat
  local app
  for app in "$@"; do
    case "$app" in
      wordpress|phpmyadmin) stop_pid apache ;;
      redmine|tomcat) stop_pid "$app" ;;
      *) echo "unknown app: $app" >&2; exit 2 ;;
    esac
  done
}

do_reset() {
  do_stop
  mysql -e "DROP DATABASE IF EXISTS wp_test; DROP DATABASE IF EXISTS pma_demo;
            DROP USER IF EXISTS 'wp_test'@'localhost', 'wp_test'@'127.0.0.1',
                                '$PMA_USER'@'localhost', '$PMA_USER'@'127.0.0.1';"
  rm -f /etc/wordpress/config-default.php /etc/phpmyadmin/conf.d/zz-harness.php \
        /usr/share/redmine/config/additional_environment.rb "$RM_DB"
  rm -rf "$APACHE_DIR" "$TC_BASE" "$RM_GEMDIR" "$RUN"
}


command="${1:-}"
shift || true
case "$command" in
  install) do_install ;;
  setup) for app in "$@"; do setup_app "$app"; done ;;
  start) for app in "$@"; do start_app "$app"; done ;;
  stop) do_stop "$@" ;;
  reset) do_reset ;;
  *) echo "usage: $0 install | setup APP... | start APP... | stop [APP...] | reset" >&2; exit 2 ;;
esac
