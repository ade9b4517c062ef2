# Die Seiten des Gateways auf Deutsch.

## Frame and shared words
continue = Weiter
cancel = Abbrechen
confirm = Bestätigen
start-over = Neu beginnen
sign-in-again = Erneut anmelden
sign-out = Abmelden
signed-in-as = Angemeldet als { $user }.

## Verification code
challenge-title = Bestätigungscode
challenge-heading = Bestätigungscode eingeben
challenge-intro = Angemeldet als { $user }. Öffnen Sie Ihre Authenticator-App und geben Sie den 6-stelligen Code ein, den sie für { $issuer } anzeigt.
code-label = Bestätigungscode
verify = Bestätigen
recovery-summary = Telefon verloren? Einen Wiederherstellungscode verwenden
recovery-label = Wiederherstellungscode
recovery-use = Wiederherstellungscode verwenden

## Invitation
invite-title = Einladungscode
invite-heading = Einladungscode eingeben
invite-intro = Angemeldet als { $user }. Bevor Sie die Zwei-Faktor-Authentifizierung einrichten, geben Sie den Einladungscode ein, den Sie von Ihrer Administration erhalten haben.
invite-label = Einladungscode
invite-none = Kein Code? Bitten Sie Ihre Administration darum.

## Enrollment
enroll-title = Zwei-Faktor-Authentifizierung einrichten
enroll-heading = Authenticator-App einrichten
enroll-intro = { $user }, diese Seite verlangt einen zweiten Faktor: einen 6-stelligen Code aus einer Authenticator-App (Google Authenticator, Microsoft Authenticator, 1Password, Aegis, …).
enroll-intro-replace = Angemeldet als { $user }. Ihre bisherige App funktioniert weiter, bis die neue bestätigt ist.
enroll-intro-replace-both = Angemeldet als { $user }. Ihre bisherige App funktioniert weiter, bis die neue mit je einem Code aus beiden bestätigt ist.
enroll-add = Zu einer Authenticator-App auf diesem Telefon hinzufügen
enroll-add-then = Kehren Sie dann zu dieser Seite zurück und geben Sie den Code ein, den die App anzeigt. Oder scannen Sie den Code unten mit einem anderen Gerät.
enroll-scan = Scannen Sie diesen Code mit der Authenticator-App auf Ihrem Telefon und geben Sie dann den 6-stelligen Code ein, den sie anzeigt.
enroll-manual = Scannen nicht möglich? Schlüssel von Hand eingeben
enroll-account = Konto:
enroll-key = Schlüssel:
enroll-type = Art: zeitbasiert, 6 Ziffern, 30 Sekunden
enroll-open-here = In einer Authenticator-App auf diesem Gerät öffnen
enroll-code-label = Code aus der App
enroll-current-label = Aktueller Code aus der App, die Sie jetzt nutzen, oder ein Wiederherstellungscode
enroll-validity = { $minutes ->
    [one] Diese Seite ist 1 Minute lang gültig; danach melden Sie sich erneut an. Als Nächstes erhalten Sie Wiederherstellungscodes zum Aufbewahren, dann öffnet sich { $app }.
   *[other] Diese Seite ist { $minutes } Minuten lang gültig; danach melden Sie sich erneut an. Als Nächstes erhalten Sie Wiederherstellungscodes zum Aufbewahren, dann öffnet sich { $app }.
}

## Recovery codes
codes-title = Ihre Wiederherstellungscodes
codes-heading = Wiederherstellungscodes speichern
codes-intro = Wenn Sie Ihr Telefon verlieren, können Sie sich mit jedem dieser Codes einmal anstelle eines Codes aus der App anmelden. Sie werden nur jetzt angezeigt: Laden Sie sie herunter, drucken oder kopieren Sie sie und bewahren Sie sie sicher auf.
codes-download = Herunterladen (.txt)
codes-print = Drucken
codes-copy = Kopieren
codes-copied = Kopiert
codes-saved = Ich habe diese Codes gespeichert
codes-replaced = Ihre alten Wiederherstellungscodes gelten nicht mehr: Nur diese neuen gelten.
file-heading = Wiederherstellungscodes für { $app }
file-account = Konto: { $user }
file-made = Erstellt: { $time } (UTC)
file-use = Verwenden Sie einen dieser Codes, wenn { $app } nach einem Bestätigungscode fragt und Sie Ihre Authenticator-App nicht haben: Wählen Sie „Telefon verloren? Einen Wiederherstellungscode verwenden“ und geben Sie ihn ein.
file-once = Jeder Code gilt einmal. Neue Codes in den Einstellungen ersetzen alle diese.

## Settings
settings-title = Zwei-Faktor-Authentifizierung
settings-back = ← Zurück zu { $app }
settings-totp = Authenticator-App
settings-totp-since = Aktiv seit { $time }.
settings-totp-used = Zuletzt verwendet { $time }.
settings-replace = Durch eine neue App ersetzen
settings-no-totp = Es ist keine Authenticator-App eingerichtet.
settings-set-up = Authenticator-App einrichten
settings-codes = Wiederherstellungscodes
settings-codes-left = { $count ->
    [one] 1 unbenutzter Wiederherstellungscode übrig. Neue ersetzen alle bisherigen.
   *[other] { $count } unbenutzte Wiederherstellungscodes übrig. Neue ersetzen alle bisherigen.
}
settings-current-label = Aktueller Code aus Ihrer App oder ein Wiederherstellungscode
settings-new-codes = Neue Wiederherstellungscodes erstellen
settings-off-heading = Zwei-Faktor-Authentifizierung ausschalten
settings-off = Ausschalten
settings-required = Diese Anwendung verlangt einen zweiten Faktor: Er kann nicht ausgeschaltet, nur ersetzt werden.
settings-sessions = Wo Sie angemeldet sind
settings-sessions-app = Anwendung
settings-sessions-started = Angemeldet
settings-sessions-last = Zuletzt aktiv
settings-sessions-this = (dieser Browser)
settings-sign-out-everywhere = Überall abmelden
settings-sessions-browser = Browser
settings-sessions-since = Angemeldet am { $time }
settings-devices = Browser, in denen Sie sich angemeldet haben
settings-devices-intro = Diese Browser haben Ihren zweiten Faktor bereits bestanden. Falsche Codes, die anderswo eingegeben werden, sperren sie nie aus. Vergessen Sie einen Browser, den Sie nicht mehr nutzen oder dem Sie nicht mehr vertrauen.
settings-devices-none = Noch kein Browser ist gespeichert.
settings-devices-used = Zuletzt verwendet
settings-devices-since = Gespeichert seit { $time }
settings-devices-forget = Vergessen
settings-devices-code = Aktueller Code
notice-session-ended = Diese Sitzung ist abgemeldet.
notice-session-gone = Diese Sitzung war bereits beendet.
notice-device-forgotten = Dieser Browser ist vergessen.
notice-device-gone = Dieser Browser war nicht gespeichert.
everywhere-title = Überall abmelden?
everywhere-confirm = { $count ->
    [one] Das beendet Ihre einzige Sitzung, diese hier.
   *[other] Das beendet alle { $count } Sitzungen, in allen Anwendungen und Browsern, diese eingeschlossen.
} Gespeicherte Browser bleiben gespeichert: Sie können sie in den Einstellungen vergessen.
everywhere-done-title = Überall abgemeldet
everywhere-done = { $count ->
    [one] 1 Sitzung beendet.
   *[other] { $count } Sitzungen beendet.
} Sie sind in allen Browsern abgemeldet.
confirm-cancel = Abbrechen
notice-off = Die Zwei-Faktor-Authentifizierung ist ausgeschaltet.
notice-new-app = Ihre neue Authenticator-App ist aktiv.

## Sign out
logout-heading = Abmelden?
logout-intro = Angemeldet als { $user }. Das Abmelden beendet Ihre Sitzung in dieser Anwendung auf diesem Gerät.
logout-stay = Angemeldet bleiben
signed-out-title = Abgemeldet
signed-out = Sie sind von dieser Anwendung abgemeldet.
not-signed-in-title = Nicht angemeldet
not-signed-in = Sie sind bei dieser Anwendung nicht angemeldet.

## Codes and their refusals
code-wrong = Dieser Code ist nicht gültig.
code-spent = Dieser Code wurde bereits verwendet. Warten Sie auf den nächsten Code Ihrer Authenticator-App oder verwenden Sie einen Wiederherstellungscode.
code-format = Ein Code Ihrer Authenticator-App hat 6 Ziffern, ein Wiederherstellungscode 12 Buchstaben und Ziffern. Es wurde nichts gezählt: Versuchen Sie es erneut.
attempts-left = { $count ->
    [one] Noch 1 Versuch.
   *[other] Noch { $count } Versuche.
}
invite-wrong = Dieser Einladungscode ist nicht gültig oder abgelaufen.
enter-code = Geben Sie den Code aus Ihrer Authenticator-App ein.
enter-invite = Geben Sie den Einladungscode Ihrer Administration ein.
too-many-title = Zu viele falsche Codes
too-many = Es wurden zu viele falsche Codes eingegeben. Bitte melden Sie sich erneut an.
one-code-title = Bitte nur ein Code
one-code = Das Formular enthielt mehr als einen Code und wurde abgelehnt.
wrong-codes-title = Jemand kennt vielleicht Ihr Passwort
wrong-codes = { $count ->
    [one] Seit Ihrer letzten Anmeldung hat jemand Ihr Passwort und danach 1 falschen Code eingegeben. Jemand anderes kennt Ihr Passwort: Ändern Sie es jetzt.
   *[other] Seit Ihrer letzten Anmeldung hat jemand Ihr Passwort und danach { $count } falsche Codes eingegeben. Jemand anderes kennt Ihr Passwort: Ändern Sie es jetzt.
}
locked-title = Zu viele Versuche
locked = Für dieses Konto oder aus diesem Netz wurden zu viele falsche Codes eingegeben. Zu Ihrer Sicherheit ist die Anmeldung bis { $until } UTC gesperrt (noch etwa { $wait }). Eine erneute Anmeldung vorher hilft nicht; die Administration kann die Sperre früher aufheben.
locked-account = Die Administration hat die Anmeldung an diesem Konto bis { $until } UTC angehalten (noch etwa { $wait }). Fragen Sie dort nach, wenn Sie sich früher anmelden müssen.
locked-new-browsers = Für dieses Konto wurden aus Browsern, mit denen es sich noch nie angemeldet hatte, zu viele falsche Codes eingegeben. Die Anmeldung aus einem neuen Browser ist bis { $until } UTC angehalten (noch etwa { $wait }); ein Browser, mit dem Sie sich schon angemeldet haben, funktioniert weiter. Jemand kennt vielleicht Ihr Passwort: Ändern Sie es. Die Administration kann die Sperre früher aufheben mit: mfa-gateway user unlock { $user }
locked-device = In diesem Browser wurden zu viele falsche Codes eingegeben. Die Anmeldung hier ist bis { $until } UTC angehalten (noch etwa { $wait }). Die Administration kann die Sperre früher aufheben mit: mfa-gateway user unlock { $user }
locked-address = Von Ihrer Adresse ({ $address }) wurden zu viele falsche Codes eingegeben. Die Anmeldung von dort ist bis { $until } UTC angehalten (noch etwa { $wait }). Die Administration kann die Sperre früher aufheben mit: mfa-gateway client unlock { $address }
locked-network = Aus Ihrem Netz ({ $address }) wurden zu viele falsche Codes eingegeben. Die Anmeldung von dort ist bis { $until } UTC angehalten (noch etwa { $wait }). Die Administration kann die Sperre früher aufheben mit: mfa-gateway client unlock ADRESSE (Ihre Adresse in diesem Netz)
throttled-address = Zu viele fehlgeschlagene Anmeldungen von Ihrer Adresse ({ $address }). Die Anmeldung von dort ist bis { $until } UTC (in etwa { $wait }) angehalten; ein Browser, in dem Sie sich schon einmal angemeldet haben, ist nicht betroffen. Ein Administrator kann dies früher aufheben mit: mfa-gateway client unlock { $address }
throttled-name = Zu viele fehlgeschlagene Anmeldungen für den Benutzernamen { $user }. Die Anmeldung damit aus neuen Browsern ist bis { $until } UTC (in etwa { $wait }) angehalten; ein Browser, in dem Sie sich schon einmal angemeldet haben, ist nicht betroffen. Wenn diese Versuche nicht von Ihnen stammen, versucht jemand, Ihr Passwort zu erraten. Ein Administrator kann dies früher aufheben mit: mfa-gateway user unlock { $user }
enrollment-closed-title = Ein zweiter Faktor ist nötig
enrollment-closed = { $user } hat noch keinen zweiten Faktor, und die Einrichtung bei der Anmeldung ist hier nicht mehr möglich. Bitten Sie Ihren Administrator um einen Einrichtungscode (er erstellt ihn mit: mfa-gateway user invite { $user }) und melden Sie sich dann erneut an.
wait-minutes = { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
}
refused-code-required = Geben Sie einen aktuellen Code aus Ihrer Authenticator-App oder einen Wiederherstellungscode ein.
refused-wrong-current = Der aktuelle Code ist nicht gültig. Geben Sie einen Code aus der App ein, die Sie jetzt nutzen, oder einen Wiederherstellungscode.
refused-current-required = Zum Ersetzen Ihrer Authenticator-App ist auch ein aktueller Code nötig: einer aus der App, die Sie jetzt nutzen, oder ein Wiederherstellungscode.
refused-locked = Es wurden zu viele falsche Codes eingegeben. Zu Ihrer Sicherheit sind Änderungen eine Weile gesperrt.
refused-required = Diese Anwendung verlangt einen zweiten Faktor: Er kann nicht ausgeschaltet werden.
refused-setup-expired = Diese Einrichtung ist abgelaufen. Beginnen Sie neu.
refused-invitation-needed = Um hier einen zweiten Faktor einzurichten, brauchen Sie einen Einrichtungscode Ihres Administrators (er erstellt ihn mit: mfa-gateway user invite und Ihrem Benutzernamen). Melden Sie sich damit erneut an.

## Dead ends
sign-in-again-title = Bitte melden Sie sich erneut an
refusal-invalid = Diese Anmeldung konnte nicht bestätigt werden. Bitte melden Sie sich erneut an.
refusal-expired = Diese Anmeldung ist abgelaufen oder wurde bereits abgeschlossen. Bitte melden Sie sich erneut an.
refusal-wrong-step = Diese Anmeldung wartet auf einen anderen Schritt.
form-expired-title = Formular abgelaufen
form-expired = Dieses Formular ist nicht mehr gültig. Bitte melden Sie sich erneut an.
form-expired-logout = Dieses Formular ist nicht mehr gültig. Öffnen Sie die Abmeldeseite erneut.
form-expired-settings = Dieses Formular ist nicht mehr gültig. Öffnen Sie die Einstellungen erneut.
too-large-title = Anfrage zu groß
too-large = Das Formular war zu groß.
unavailable-title = Vorübergehend nicht verfügbar
unavailable = Das Gateway kann Anmeldungen gerade nicht prüfen. Bitte versuchen Sie es gleich noch einmal.
sign-in-first-title = Zuerst anmelden
sign-in-first = Melden Sie sich bei dieser Anwendung an, um Ihre Bestätigungsmethode zu ändern.

## Error pages
error-try-again = Erneut versuchen
error-home = Zur Startseite
error-reference = Wenn Sie Hilfe brauchen, nennen Sie diese Kennung: { $id }
error-title = { $status ->
    [400] Ungültige Anfrage
    [401] Anmeldung nötig
    [403] Nicht erlaubt
    [404] Seite nicht gefunden
    [408] Anfrage zu langsam
    [413] Anfrage zu groß
    [429] Zu viele Versuche
    [431] Anfrage-Header zu groß
    [502] Anwendung nicht erreichbar
    [503] Vorübergehend nicht verfügbar
    [504] Anwendung zu langsam
   *[other] Fehler
}
proxy-unknown-host = Für diesen Hostnamen ist keine Anwendung eingerichtet.
proxy-no-gateway-page = Unter dieser Adresse gibt es keine Seite des Gateways.
proxy-bad-host = Die Anfrage hat keinen gültigen Host-Header.
proxy-ambiguous-path = Der Pfad der Anfrage ist mehrdeutig (Punkt-Segmente, kodierte Schrägstriche o. Ä.) und wurde abgelehnt.
proxy-headers-too-large = Die Header der Anfrage sind zu groß.
proxy-upstream-unreachable = Die Anwendung hinter diesem Gateway war nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.
proxy-unexpected-switch = Die Anwendung hinter diesem Gateway hat so geantwortet, dass das Gateway die Antwort nicht weitergeben kann.
proxy-upstream-timeout = Die Anwendung hinter diesem Gateway hat zu lange für die Antwort gebraucht.
proxy-bad-upstream-request = Das Gateway konnte diese Anfrage nicht weiterleiten.
proxy-unauthorized = Diese Zugangsdaten gelten hier nicht. Bitte melden Sie sich erneut an.
proxy-state-unavailable = Das Gateway kann Anmeldungen gerade nicht prüfen. Bitte versuchen Sie es gleich noch einmal.
proxy-body-too-large = Der Inhalt der Anfrage ist zu groß.
proxy-body-unreadable = Der Inhalt der Anfrage konnte nicht gelesen werden.
proxy-body-timeout = Der Inhalt der Anfrage kam nicht rechtzeitig an. Bitte versuchen Sie es erneut.
proxy-login-unchecked = Die Anmeldung konnte nicht abgeschlossen werden, weil das Gateway sie nicht prüfen konnte. Bitte wenden Sie sich an die Administration.
proxy-login-throttled = Zu viele fehlgeschlagene Anmeldungen aus diesem Netz oder für dieses Konto. Zu Ihrer Sicherheit ist die Anmeldung einige Minuten gesperrt.
proxy-ambiguous-request = Die Anfrage ließ sich auf mehr als eine Weise lesen und wurde abgelehnt.
proxy-repeated-field = Die Anfrage gibt dem Header-Feld { $field } mehr als einen Wert, ließ sich daher auf mehr als eine Weise lesen und wurde abgelehnt.
proxy-app-session-withheld = Diese Anmeldung lief nicht über die Anmeldung des Gateways. Bitte melden Sie sich auf der Anmeldeseite an.
proxy-answer-unchecked = Die Antwort der Anwendung konnte nicht geprüft werden, daher hat das Gateway sie nicht weitergegeben. Wenden Sie sich an die Administration, wenn das wieder vorkommt.
proxy-session-changed-hands = Die Anwendung ordnet diese Sitzung jetzt einem anderen Konto zu. Zu Ihrer Sicherheit wurden Sie abgemeldet; bitte melden Sie sich erneut an.
proxy-connection-authentication = Die Windows-Anmeldung (NTLM oder Negotiate) kann nicht durch dieses Gateway gehen: Sie würde mit den Anfragen anderer Benutzer geteilt.
proxy-path-refused = Diese Adresse ist über das Gateway nicht verfügbar: Sie würde nur mit einem Passwort anmelden.
codes-unseen-title = Ihre Wiederherstellungscodes wurden Ihnen nie angezeigt
codes-unseen = Das Gateway wurde beendet, bevor es Ihnen Ihre Wiederherstellungscodes zeigen konnte; Sie können sie also nicht gespeichert haben. Erstellen Sie jetzt in Ihren Einstellungen neue (sie ersetzen die nie gezeigten).
