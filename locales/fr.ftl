# Les pages de la passerelle en français.

## Frame and shared words
continue = Continuer
cancel = Annuler
confirm = Confirmer
start-over = Recommencer
sign-in-again = Se reconnecter
sign-out = Se déconnecter
signed-in-as = Connecté en tant que { $user }.

## Verification code
challenge-title = Code de vérification
challenge-heading = Saisissez votre code de vérification
challenge-intro = Connecté en tant que { $user }. Ouvrez votre application d'authentification et saisissez le code à 6 chiffres qu'elle affiche pour { $issuer }.
code-label = Code de vérification
verify = Vérifier
recovery-summary = Téléphone perdu ? Utiliser un code de secours
recovery-label = Code de secours
recovery-use = Utiliser le code de secours

## Invitation
invite-title = Code d'invitation
invite-heading = Saisissez votre code d'invitation
invite-intro = Connecté en tant que { $user }. Avant de configurer l'authentification à deux facteurs, saisissez le code d'invitation que votre administrateur vous a remis.
invite-label = Code d'invitation
invite-none = Pas de code ? Demandez-en un à votre administrateur.

## Enrollment
enroll-title = Configurer l'authentification à deux facteurs
enroll-heading = Configurez votre application d'authentification
enroll-intro = { $user }, ce site exige un second facteur : un code à 6 chiffres d'une application d'authentification (Google Authenticator, Microsoft Authenticator, 1Password, Aegis, …).
enroll-intro-replace = Connecté en tant que { $user }. Votre application actuelle fonctionne jusqu'à ce que la nouvelle soit confirmée.
enroll-intro-replace-both = Connecté en tant que { $user }. Votre application actuelle fonctionne jusqu'à ce que la nouvelle soit confirmée avec un code de chacune.
enroll-add = Ajouter à une application d'authentification sur ce téléphone
enroll-add-then = Revenez ensuite sur cette page et saisissez le code affiché par l'application. Ou scannez le code ci-dessous depuis un autre appareil.
enroll-scan = Scannez ce code avec l'application d'authentification de votre téléphone, puis saisissez le code à 6 chiffres qu'elle affiche.
enroll-manual = Impossible de scanner ? Saisissez la clé à la main
enroll-account = Compte :
enroll-key = Clé :
enroll-type = Type : basé sur le temps, 6 chiffres, 30 secondes
enroll-open-here = Ouvrir dans une application d'authentification sur cet appareil
enroll-code-label = Code de l'application
enroll-current-label = Code actuel de l'application que vous utilisez maintenant, ou un code de secours
enroll-validity = { $minutes ->
    [one] Cette page reste valable 1 minute ; ensuite, reconnectez-vous. Vous recevrez ensuite des codes de secours à conserver, puis { $app } s'ouvrira.
   *[other] Cette page reste valable { $minutes } minutes ; ensuite, reconnectez-vous. Vous recevrez ensuite des codes de secours à conserver, puis { $app } s'ouvrira.
}

## Recovery codes
codes-title = Vos codes de secours
codes-heading = Enregistrez vos codes de secours
codes-intro = Si vous perdez votre téléphone, chacun de ces codes vous permet de vous connecter une fois à la place d'un code de l'application. Ils ne sont affichés que maintenant : téléchargez-les, imprimez-les ou copiez-les et gardez-les en lieu sûr.
codes-download = Télécharger (.txt)
codes-print = Imprimer
codes-copy = Copier
codes-copied = Copié
codes-saved = J'ai enregistré ces codes
codes-replaced = Vos anciens codes de secours ne fonctionnent plus : seuls ces nouveaux sont valables.
file-heading = Codes de secours pour { $app }
file-account = Compte : { $user }
file-made = Créés le : { $time } (UTC)
file-use = Utilisez l'un de ces codes quand { $app } demande un code de vérification et que vous n'avez pas votre application d'authentification : choisissez « Téléphone perdu ? Utiliser un code de secours » et saisissez-le.
file-once = Chaque code ne fonctionne qu'une fois. De nouveaux codes créés dans les paramètres remplacent tous ceux-ci.

## Settings
settings-title = Authentification à deux facteurs
settings-back = ← Retour à { $app }
settings-totp = Application d'authentification
settings-totp-since = Active depuis le { $time }.
settings-totp-used = Dernière utilisation le { $time }.
settings-replace = Remplacer par une nouvelle application
settings-no-totp = Aucune application d'authentification n'est configurée.
settings-set-up = Configurer une application d'authentification
settings-codes = Codes de secours
settings-codes-left = { $count ->
    [one] Il reste 1 code de secours inutilisé. En créer de nouveaux les remplace tous.
   *[other] Il reste { $count } codes de secours inutilisés. En créer de nouveaux les remplace tous.
}
settings-current-label = Code actuel de votre application, ou un code de secours
settings-new-codes = Créer de nouveaux codes de secours
settings-off-heading = Désactiver l'authentification à deux facteurs
settings-off = Désactiver
settings-required = Cette application exige un second facteur : il ne peut pas être désactivé, seulement remplacé.
settings-sessions = Où vous êtes connecté
settings-sessions-app = Application
settings-sessions-started = Connecté le
settings-sessions-last = Dernière activité
settings-sessions-this = (ce navigateur)
settings-sign-out-everywhere = Se déconnecter partout
settings-sessions-browser = Navigateur
settings-sessions-since = Connecté le { $time }
settings-devices = Navigateurs depuis lesquels vous vous êtes connecté
settings-devices-intro = Ces navigateurs ont déjà validé votre second facteur. Les codes erronés saisis ailleurs ne les bloquent jamais. Oubliez un navigateur que vous n’utilisez plus ou auquel vous ne faites plus confiance.
settings-devices-none = Aucun navigateur n’est mémorisé pour l’instant.
settings-devices-used = Dernière utilisation
settings-devices-since = Mémorisé depuis le { $time }
settings-devices-forget = Oublier
settings-devices-code = Code actuel
notice-session-ended = Cette session est déconnectée.
notice-session-gone = Cette session était déjà terminée.
notice-device-forgotten = Ce navigateur est oublié.
notice-device-gone = Ce navigateur n’était pas mémorisé.
everywhere-title = Se déconnecter partout ?
everywhere-confirm = { $count ->
    [one] Cela termine votre seule session, celle-ci.
   *[other] Cela termine vos { $count } sessions, dans toutes les applications et tous les navigateurs, y compris celle-ci.
} Les navigateurs mémorisés le restent : oubliez-les dans les paramètres.
everywhere-done-title = Déconnecté partout
everywhere-done = { $count ->
    [one] 1 session terminée.
   *[other] { $count } sessions terminées.
} Vous êtes déconnecté sur tous les navigateurs.
confirm-cancel = Annuler
notice-off = L'authentification à deux facteurs est désactivée.
notice-new-app = Votre nouvelle application d'authentification est active.

## Sign out
logout-heading = Se déconnecter ?
logout-intro = Connecté en tant que { $user }. La déconnexion met fin à votre session dans cette application sur cet appareil.
logout-stay = Rester connecté
signed-out-title = Déconnecté
signed-out = Vous êtes déconnecté de cette application.
not-signed-in-title = Non connecté
not-signed-in = Vous n'êtes pas connecté à cette application.

## Codes and their refusals
code-wrong = Ce code n'est pas valable.
code-spent = Ce code a déjà été utilisé. Attendez le code suivant de votre application d'authentification, ou utilisez un code de secours.
code-format = Un code de votre application d'authentification a 6 chiffres ; un code de secours a 12 lettres et chiffres. Rien n'a été compté : réessayez.
attempts-left = { $count ->
    [one] Il reste 1 essai.
   *[other] Il reste { $count } essais.
}
invite-wrong = Ce code d'invitation n'est pas valable ou a expiré.
enter-code = Saisissez le code de votre application d'authentification.
enter-invite = Saisissez le code d'invitation de votre administrateur.
too-many-title = Trop de codes erronés
too-many = Trop de codes erronés ont été saisis. Veuillez vous reconnecter.
one-code-title = Un seul code, s'il vous plaît
one-code = Le formulaire contenait plus d'un code et a été refusé.
wrong-codes-title = Quelqu'un connaît peut-être votre mot de passe
wrong-codes = { $count ->
    [one] Depuis votre dernière connexion, quelqu'un a saisi votre mot de passe puis 1 code erroné. Une autre personne connaît votre mot de passe : changez-le maintenant.
   *[other] Depuis votre dernière connexion, quelqu'un a saisi votre mot de passe puis { $count } codes erronés. Une autre personne connaît votre mot de passe : changez-le maintenant.
}
locked-title = Trop de tentatives
locked = Trop de codes erronés ont été saisis pour ce compte ou depuis ce réseau. Pour votre sécurité, la connexion est suspendue jusqu'à { $until } UTC (dans environ { $wait }). Se reconnecter avant n'aidera pas ; un administrateur peut lever le blocage plus tôt.
locked-account = Un administrateur a suspendu la connexion à ce compte jusqu'à { $until } UTC (dans environ { $wait }). Demandez-lui si vous devez vous connecter plus tôt.
locked-new-browsers = Trop de codes erronés ont été saisis pour ce compte depuis des navigateurs qui ne s'y étaient jamais connectés. La connexion depuis un nouveau navigateur est suspendue jusqu'à { $until } UTC (dans environ { $wait }) ; un navigateur avec lequel vous vous êtes déjà connecté fonctionne toujours. Quelqu'un connaît peut-être votre mot de passe : changez-le. Un administrateur peut lever la suspension plus tôt avec : mfa-gateway user unlock { $user }
locked-device = Trop de codes erronés ont été saisis dans ce navigateur. La connexion ici est suspendue jusqu'à { $until } UTC (dans environ { $wait }). Un administrateur peut lever la suspension plus tôt avec : mfa-gateway user unlock { $user }
locked-address = Trop de codes erronés ont été saisis depuis votre adresse ({ $address }). La connexion depuis celle-ci est suspendue jusqu'à { $until } UTC (dans environ { $wait }). Un administrateur peut lever la suspension plus tôt avec : mfa-gateway client unlock { $address }
locked-network = Trop de codes erronés ont été saisis depuis votre réseau ({ $address }). La connexion depuis celui-ci est suspendue jusqu'à { $until } UTC (dans environ { $wait }). Un administrateur peut lever la suspension plus tôt avec : mfa-gateway client unlock ADRESSE (votre adresse dans ce réseau)
throttled-address = Trop de connexions échouées depuis votre adresse ({ $address }). La connexion depuis celle-ci est suspendue jusqu’à { $until } UTC (dans environ { $wait }) ; un navigateur depuis lequel vous vous êtes déjà connecté n’est pas suspendu. Un administrateur peut lever cette suspension plus tôt avec : mfa-gateway client unlock { $address }
throttled-name = Trop de connexions échouées pour le nom d’utilisateur { $user }. La connexion avec ce nom depuis de nouveaux navigateurs est suspendue jusqu’à { $until } UTC (dans environ { $wait }) ; un navigateur depuis lequel vous vous êtes déjà connecté n’est pas suspendu. Si ces tentatives ne sont pas les vôtres, quelqu’un essaie de deviner votre mot de passe. Un administrateur peut lever cette suspension plus tôt avec : mfa-gateway user unlock { $user }
enrollment-closed-title = Un second facteur est nécessaire
enrollment-closed = { $user } n’a pas encore de second facteur, et sa configuration à la connexion n’est plus ouverte ici. Demandez un code d’inscription à votre administrateur (il le crée avec : mfa-gateway user invite { $user }), puis reconnectez-vous.
wait-minutes = { $minutes ->
    [one] une minute
   *[other] { $minutes } minutes
}
refused-code-required = Saisissez un code actuel de votre application d'authentification, ou un code de secours.
refused-wrong-current = Le code actuel n'est pas valable. Saisissez un code de l'application que vous utilisez maintenant, ou un code de secours.
refused-current-required = Remplacer votre application d'authentification demande aussi un code actuel : un de l'application que vous utilisez maintenant, ou un code de secours.
refused-locked = Trop de codes erronés ont été saisis. Pour votre sécurité, les modifications sont suspendues pendant un moment.
refused-required = Cette application exige un second facteur : il ne peut pas être désactivé.
refused-setup-expired = Cette configuration a expiré. Recommencez.
refused-invitation-needed = Configurer un second facteur ici nécessite un code d’inscription de votre administrateur (il le crée avec : mfa-gateway user invite et votre nom d’utilisateur). Avec ce code, reconnectez-vous.

## Dead ends
sign-in-again-title = Veuillez vous reconnecter
refusal-invalid = Cette connexion n'a pas pu être vérifiée. Veuillez vous reconnecter.
refusal-expired = Cette connexion a expiré ou est déjà terminée. Veuillez vous reconnecter.
refusal-wrong-step = Cette connexion attend une autre étape.
form-expired-title = Formulaire expiré
form-expired = Ce formulaire n'est plus valable. Veuillez vous reconnecter.
form-expired-logout = Ce formulaire n'est plus valable. Ouvrez à nouveau la page de déconnexion.
form-expired-settings = Ce formulaire n'est plus valable. Ouvrez à nouveau les paramètres.
too-large-title = Requête trop volumineuse
too-large = Le formulaire était trop volumineux.
unavailable-title = Temporairement indisponible
unavailable = La passerelle ne peut pas vérifier les connexions pour le moment. Veuillez réessayer dans un instant.
sign-in-first-title = Connectez-vous d'abord
sign-in-first = Connectez-vous à cette application pour changer votre méthode de vérification.

## Error pages
error-try-again = Réessayer
error-home = Aller à la page d'accueil
error-reference = Si vous demandez de l'aide, donnez cette référence : { $id }
error-title = { $status ->
    [400] Requête invalide
    [401] Connexion nécessaire
    [403] Non autorisé
    [404] Page introuvable
    [408] Requête trop lente
    [413] Requête trop volumineuse
    [429] Trop de tentatives
    [431] En-têtes de requête trop volumineux
    [502] Application injoignable
    [503] Temporairement indisponible
    [504] Application trop lente
   *[other] Erreur
}
proxy-unknown-host = Aucune application n'est configurée pour ce nom d'hôte.
proxy-no-gateway-page = Il n'y a pas de page de la passerelle à cette adresse.
proxy-bad-host = La requête n'a pas d'en-tête Host valable.
proxy-ambiguous-path = Le chemin de la requête est ambigu (segments de points, barres obliques encodées ou autre) et a été refusé.
proxy-headers-too-large = Les en-têtes de la requête sont trop volumineux.
proxy-upstream-unreachable = L'application derrière cette passerelle est injoignable. Veuillez réessayer dans un instant.
proxy-unexpected-switch = L'application derrière cette passerelle a répondu d'une façon que la passerelle ne peut pas transmettre.
proxy-upstream-timeout = L'application derrière cette passerelle a mis trop de temps à répondre.
proxy-bad-upstream-request = La passerelle n'a pas pu transmettre cette requête.
proxy-unauthorized = Cet identifiant n'est pas valable ici. Veuillez vous reconnecter.
proxy-state-unavailable = La passerelle ne peut pas vérifier les connexions pour le moment. Veuillez réessayer dans un instant.
proxy-body-too-large = Le corps de la requête est trop volumineux.
proxy-body-unreadable = Le corps de la requête n'a pas pu être lu.
proxy-body-timeout = Le corps de la requête n'est pas arrivé à temps. Veuillez réessayer.
proxy-login-unchecked = La connexion n'a pas pu aboutir car la passerelle n'a pas pu la vérifier. Veuillez contacter l'administrateur.
proxy-login-throttled = Trop d'échecs de connexion depuis ce réseau ou pour ce compte. Pour votre sécurité, la connexion est suspendue pendant quelques minutes.
proxy-ambiguous-request = La requête pouvait se lire de plusieurs façons et a été refusée.
proxy-repeated-field = La requête donne plus d'une valeur au champ d'en-tête { $field } : elle pouvait se lire de plusieurs façons et a été refusée.
proxy-app-session-withheld = Cette connexion n'est pas passée par la page de connexion de la passerelle. Veuillez vous connecter sur la page de connexion.
proxy-answer-unchecked = La réponse de l'application n'a pas pu être vérifiée, la passerelle ne l'a donc pas transmise. Contactez l'administrateur si cela se reproduit.
proxy-session-changed-hands = L'application indique maintenant que cette session appartient à un autre compte. Pour votre sécurité, vous avez été déconnecté ; veuillez vous reconnecter.
proxy-connection-authentication = La connexion Windows (NTLM ou Negotiate) ne peut pas passer par cette passerelle : elle serait partagée avec les requêtes d'autres utilisateurs.
proxy-path-refused = Cette adresse n'est pas disponible via la passerelle : elle permettrait de se connecter avec un simple mot de passe.
codes-unseen-title = Vos codes de secours ne vous ont jamais été montrés
codes-unseen = La passerelle s'est arrêtée avant de pouvoir vous montrer vos codes de secours : vous n'avez donc pas pu les conserver. Créez-en de nouveaux dans vos paramètres maintenant (ils remplacent ceux que vous n'avez jamais vus).
