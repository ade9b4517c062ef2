# Las páginas de la pasarela en español.

## Frame and shared words
continue = Continuar
cancel = Cancelar
confirm = Confirmar
start-over = Empezar de nuevo
sign-in-again = Volver a iniciar sesión
sign-out = Cerrar sesión
signed-in-as = Sesión iniciada como { $user }.

## Verification code
challenge-title = Código de verificación
challenge-heading = Introduzca su código de verificación
challenge-intro = Sesión iniciada como { $user }. Abra su aplicación de autenticación e introduzca el código de 6 dígitos que muestra para { $issuer }.
code-label = Código de verificación
verify = Verificar
recovery-summary = ¿Perdió su teléfono? Use un código de recuperación
recovery-label = Código de recuperación
recovery-use = Usar código de recuperación

## Invitation
invite-title = Código de invitación
invite-heading = Introduzca su código de invitación
invite-intro = Sesión iniciada como { $user }. Antes de configurar la autenticación en dos pasos, introduzca el código de invitación que le dio su administrador.
invite-label = Código de invitación
invite-none = ¿No tiene código? Pídale uno a su administrador.

## Enrollment
enroll-title = Configurar la autenticación en dos pasos
enroll-heading = Configure su aplicación de autenticación
enroll-intro = { $user }, este sitio requiere un segundo factor: un código de 6 dígitos de una aplicación de autenticación (Google Authenticator, Microsoft Authenticator, 1Password, Aegis, …).
enroll-intro-replace = Sesión iniciada como { $user }. Su aplicación actual sigue funcionando hasta que se confirme la nueva.
enroll-intro-replace-both = Sesión iniciada como { $user }. Su aplicación actual sigue funcionando hasta que se confirme la nueva con un código de cada una.
enroll-add = Añadir a una aplicación de autenticación de este teléfono
enroll-add-then = Después vuelva a esta página e introduzca el código que muestra la aplicación. O escanee el código de abajo desde otro dispositivo.
enroll-scan = Escanee este código con la aplicación de autenticación de su teléfono y luego introduzca el código de 6 dígitos que muestra.
enroll-manual = ¿No puede escanear? Introduzca la clave a mano
enroll-account = Cuenta:
enroll-key = Clave:
enroll-type = Tipo: basado en tiempo, 6 dígitos, 30 segundos
enroll-open-here = Abrir en una aplicación de autenticación de este dispositivo
enroll-code-label = Código de la aplicación
enroll-current-label = Código actual de la aplicación que usa ahora, o un código de recuperación
enroll-validity = { $minutes ->
    [one] Esta página es válida durante 1 minuto; después, vuelva a iniciar sesión. A continuación recibirá códigos de recuperación para guardar y luego se abrirá { $app }.
   *[other] Esta página es válida durante { $minutes } minutos; después, vuelva a iniciar sesión. A continuación recibirá códigos de recuperación para guardar y luego se abrirá { $app }.
}

## Recovery codes
codes-title = Sus códigos de recuperación
codes-heading = Guarde sus códigos de recuperación
codes-intro = Si pierde su teléfono, cada uno de estos códigos le permite iniciar sesión una vez en lugar de un código de la aplicación. Solo se muestran ahora: descárguelos, imprímalos o cópielos y guárdelos en un lugar seguro.
codes-download = Descargar (.txt)
codes-print = Imprimir
codes-copy = Copiar
codes-copied = Copiado
codes-saved = He guardado estos códigos
codes-replaced = Sus códigos de recuperación anteriores ya no funcionan: solo valen estos nuevos.
file-heading = Códigos de recuperación para { $app }
file-account = Cuenta: { $user }
file-made = Creados: { $time } (UTC)
file-use = Use uno de estos códigos cuando { $app } le pida un código de verificación y no tenga su aplicación de autenticación: elija «¿Perdió su teléfono? Use un código de recuperación» y escríbalo.
file-once = Cada código funciona una vez. Crear códigos nuevos en la configuración sustituye a todos estos.

## Settings
settings-title = Autenticación en dos pasos
settings-back = ← Volver a { $app }
settings-totp = Aplicación de autenticación
settings-totp-since = Activa desde { $time }.
settings-totp-used = Último uso { $time }.
settings-replace = Sustituir por una aplicación nueva
settings-no-totp = No hay ninguna aplicación de autenticación configurada.
settings-set-up = Configurar una aplicación de autenticación
settings-codes = Códigos de recuperación
settings-codes-left = { $count ->
    [one] Queda 1 código de recuperación sin usar. Crear nuevos sustituye a todos.
   *[other] Quedan { $count } códigos de recuperación sin usar. Crear nuevos sustituye a todos.
}
settings-current-label = Código actual de su aplicación, o un código de recuperación
settings-new-codes = Crear nuevos códigos de recuperación
settings-off-heading = Desactivar la autenticación en dos pasos
settings-off = Desactivar
settings-required = Esta aplicación requiere un segundo factor: no se puede desactivar, solo sustituir.
settings-sessions = Dónde tiene la sesión iniciada
settings-sessions-app = Aplicación
settings-sessions-started = Inicio de sesión
settings-sessions-last = Última actividad
settings-sessions-this = (este navegador)
settings-sign-out-everywhere = Cerrar sesión en todas partes
settings-sessions-browser = Navegador
settings-sessions-since = Inició sesión el { $time }
settings-devices = Navegadores desde los que ha iniciado sesión
settings-devices-intro = Estos navegadores ya superaron su segundo factor. Los códigos erróneos escritos en otro lugar nunca los bloquean. Olvide un navegador que ya no use o en el que ya no confíe.
settings-devices-none = Todavía no se recuerda ningún navegador.
settings-devices-used = Último uso
settings-devices-since = Recordado desde el { $time }
settings-devices-forget = Olvidar
settings-devices-code = Código actual
notice-session-ended = Esa sesión está cerrada.
notice-session-gone = Esa sesión ya había terminado.
notice-device-forgotten = Ese navegador está olvidado.
notice-device-gone = Ese navegador no estaba recordado.
everywhere-title = ¿Cerrar sesión en todas partes?
everywhere-confirm = { $count ->
    [one] Esto termina su única sesión, esta.
   *[other] Esto termina sus { $count } sesiones, en todas las aplicaciones y navegadores, incluida esta.
} Los navegadores recordados siguen recordados: puede olvidarlos en la configuración.
everywhere-done-title = Sesión cerrada en todas partes
everywhere-done = { $count ->
    [one] 1 sesión terminada.
   *[other] { $count } sesiones terminadas.
} Ha cerrado sesión en todos los navegadores.
confirm-cancel = Cancelar
notice-off = La autenticación en dos pasos está desactivada.
notice-new-app = Su nueva aplicación de autenticación está activa.

## Sign out
logout-heading = ¿Cerrar sesión?
logout-intro = Sesión iniciada como { $user }. Cerrar sesión termina su sesión en esta aplicación en este dispositivo.
logout-stay = Mantener la sesión
signed-out-title = Sesión cerrada
signed-out = Ha cerrado sesión en esta aplicación.
not-signed-in-title = Sin sesión iniciada
not-signed-in = No tiene una sesión iniciada en esta aplicación.

## Codes and their refusals
code-wrong = Ese código no es válido.
code-spent = Ese código ya se usó. Espere al siguiente código de su aplicación de autenticación o use un código de recuperación.
code-format = Un código de su aplicación de autenticación tiene 6 dígitos; un código de recuperación, 12 letras y dígitos. No se ha contado nada: inténtelo de nuevo.
attempts-left = { $count ->
    [one] Queda 1 intento.
   *[other] Quedan { $count } intentos.
}
invite-wrong = Ese código de invitación no es válido o ha caducado.
enter-code = Introduzca el código de su aplicación de autenticación.
enter-invite = Introduzca el código de invitación de su administrador.
too-many-title = Demasiados códigos incorrectos
too-many = Se introdujeron demasiados códigos incorrectos. Vuelva a iniciar sesión.
one-code-title = Solo un código, por favor
one-code = El formulario contenía más de un código y se rechazó.
wrong-codes-title = Puede que alguien conozca su contraseña
wrong-codes = { $count ->
    [one] Desde su último inicio de sesión, alguien escribió su contraseña y después 1 código incorrecto. Otra persona conoce su contraseña: cámbiela ahora.
   *[other] Desde su último inicio de sesión, alguien escribió su contraseña y después { $count } códigos incorrectos. Otra persona conoce su contraseña: cámbiela ahora.
}
locked-title = Demasiados intentos
locked = Se introdujeron demasiados códigos incorrectos para esta cuenta o desde esta red. Por su seguridad, el inicio de sesión está en pausa hasta las { $until } UTC (dentro de unos { $wait }). Volver a iniciar sesión antes no servirá; un administrador puede levantar el bloqueo antes.
locked-account = Un administrador ha pausado el inicio de sesión en esta cuenta hasta las { $until } UTC (dentro de unos { $wait }). Pregúntele si necesita iniciar sesión antes.
locked-new-browsers = Se introdujeron demasiados códigos incorrectos para esta cuenta desde navegadores con los que nunca había iniciado sesión. El inicio de sesión desde un navegador nuevo está en pausa hasta las { $until } UTC (dentro de unos { $wait }); un navegador con el que ya inició sesión sigue funcionando. Puede que alguien conozca su contraseña: cámbiela. Un administrador puede levantarlo antes con: mfa-gateway user unlock { $user }
locked-device = Se introdujeron demasiados códigos incorrectos en este navegador. El inicio de sesión aquí está en pausa hasta las { $until } UTC (dentro de unos { $wait }). Un administrador puede levantarlo antes con: mfa-gateway user unlock { $user }
locked-address = Se introdujeron demasiados códigos incorrectos desde su dirección ({ $address }). El inicio de sesión desde ella está en pausa hasta las { $until } UTC (dentro de unos { $wait }). Un administrador puede levantarlo antes con: mfa-gateway client unlock { $address }
locked-network = Se introdujeron demasiados códigos incorrectos desde su red ({ $address }). El inicio de sesión desde ella está en pausa hasta las { $until } UTC (dentro de unos { $wait }). Un administrador puede levantarlo antes con: mfa-gateway client unlock DIRECCIÓN (su dirección en esa red)
throttled-address = Demasiados inicios de sesión fallidos desde su dirección ({ $address }). El inicio de sesión desde ella está en pausa hasta las { $until } UTC (dentro de unos { $wait }); un navegador desde el que ya inició sesión no está en pausa. Un administrador puede levantarlo antes con: mfa-gateway client unlock { $address }
throttled-name = Demasiados inicios de sesión fallidos para el nombre de usuario { $user }. El inicio de sesión con él desde navegadores nuevos está en pausa hasta las { $until } UTC (dentro de unos { $wait }); un navegador desde el que ya inició sesión no está en pausa. Si estos intentos no fueron suyos, alguien está intentando adivinar su contraseña. Un administrador puede levantarlo antes con: mfa-gateway user unlock { $user }
enrollment-closed-title = Se necesita un segundo factor
enrollment-closed = { $user } todavía no tiene un segundo factor, y configurarlo al iniciar sesión ya no está abierto aquí. Pida a su administrador un código de inscripción (lo crea con: mfa-gateway user invite { $user }) y vuelva a iniciar sesión.
wait-minutes = { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
}
refused-code-required = Introduzca un código actual de su aplicación de autenticación, o un código de recuperación.
refused-wrong-current = El código actual no es válido. Introduzca un código de la aplicación que usa ahora, o un código de recuperación.
refused-current-required = Para sustituir su aplicación de autenticación también se necesita un código actual: uno de la aplicación que usa ahora, o un código de recuperación.
refused-locked = Se introdujeron demasiados códigos incorrectos. Por su seguridad, los cambios están en pausa durante un tiempo.
refused-required = Esta aplicación requiere un segundo factor: no se puede desactivar.
refused-setup-expired = Esta configuración ha caducado. Empiece de nuevo.
refused-invitation-needed = Para configurar aquí un segundo factor necesita un código de inscripción de su administrador (lo crea con: mfa-gateway user invite y su nombre de usuario). Con él, vuelva a iniciar sesión.

## Dead ends
sign-in-again-title = Vuelva a iniciar sesión
refusal-invalid = No se pudo verificar este inicio de sesión. Vuelva a iniciar sesión.
refusal-expired = Este inicio de sesión ha caducado o ya se completó. Vuelva a iniciar sesión.
refusal-wrong-step = Este inicio de sesión espera otro paso.
form-expired-title = Formulario caducado
form-expired = Este formulario ya no es válido. Vuelva a iniciar sesión.
form-expired-logout = Este formulario ya no es válido. Abra de nuevo la página de cierre de sesión.
form-expired-settings = Este formulario ya no es válido. Abra de nuevo la configuración.
too-large-title = Solicitud demasiado grande
too-large = El formulario era demasiado grande.
unavailable-title = No disponible temporalmente
unavailable = La pasarela no puede comprobar los inicios de sesión en este momento. Vuelva a intentarlo enseguida.
sign-in-first-title = Inicie sesión primero
sign-in-first = Inicie sesión en esta aplicación para cambiar su método de verificación.

## Error pages
error-try-again = Reintentar
error-home = Ir a la página de inicio
error-reference = Si pide ayuda, indique esta referencia: { $id }
error-title = { $status ->
    [400] Solicitud incorrecta
    [401] Inicio de sesión necesario
    [403] No permitido
    [404] Página no encontrada
    [408] Solicitud demasiado lenta
    [413] Solicitud demasiado grande
    [429] Demasiados intentos
    [431] Cabeceras de la solicitud demasiado grandes
    [502] Aplicación inaccesible
    [503] No disponible temporalmente
    [504] Aplicación demasiado lenta
   *[other] Error
}
proxy-unknown-host = No hay ninguna aplicación configurada para este nombre de host.
proxy-no-gateway-page = No hay ninguna página de la pasarela en esta dirección.
proxy-bad-host = La solicitud no tiene una cabecera Host válida.
proxy-ambiguous-path = La ruta de la solicitud es ambigua (segmentos de puntos, barras codificadas o similares) y se rechazó.
proxy-headers-too-large = Las cabeceras de la solicitud son demasiado grandes.
proxy-upstream-unreachable = No se pudo acceder a la aplicación que hay detrás de esta pasarela. Vuelva a intentarlo enseguida.
proxy-unexpected-switch = La aplicación que hay detrás de esta pasarela respondió de una forma que la pasarela no puede transmitir.
proxy-upstream-timeout = La aplicación que hay detrás de esta pasarela tardó demasiado en responder.
proxy-bad-upstream-request = La pasarela no pudo reenviar esta solicitud.
proxy-unauthorized = Esta credencial no es válida aquí. Vuelva a iniciar sesión.
proxy-state-unavailable = La pasarela no puede comprobar los inicios de sesión en este momento. Vuelva a intentarlo enseguida.
proxy-body-too-large = El cuerpo de la solicitud es demasiado grande.
proxy-body-unreadable = No se pudo leer el cuerpo de la solicitud.
proxy-body-timeout = El cuerpo de la solicitud no llegó a tiempo. Vuelva a intentarlo.
proxy-login-unchecked = No se pudo completar el inicio de sesión porque la pasarela no pudo comprobarlo. Póngase en contacto con el administrador.
proxy-login-throttled = Demasiados inicios de sesión fallidos desde esta red o para esta cuenta. Por su seguridad, el inicio de sesión está en pausa durante unos minutos.
proxy-ambiguous-request = La solicitud podía leerse de más de una forma y se rechazó.
proxy-repeated-field = La solicitud da más de un valor al campo de cabecera { $field }, así que podía leerse de más de una forma, y se rechazó.
proxy-app-session-withheld = Este inicio de sesión no pasó por el de la pasarela. Inicie sesión en la página de inicio de sesión.
proxy-answer-unchecked = No se pudo comprobar la respuesta de la aplicación, así que la pasarela no la transmitió. Póngase en contacto con el administrador si vuelve a ocurrir.
proxy-session-changed-hands = La aplicación indica ahora que esta sesión pertenece a otra cuenta. Por su seguridad se ha cerrado su sesión; vuelva a iniciarla.
proxy-connection-authentication = El inicio de sesión de Windows (NTLM o Negotiate) no puede pasar por esta pasarela: se compartiría con las solicitudes de otros usuarios.
proxy-path-refused = Esta dirección no está disponible a través de la pasarela: permitiría iniciar sesión solo con una contraseña.
codes-unseen-title = Nunca se le mostraron sus códigos de recuperación
codes-unseen = La pasarela se detuvo antes de poder mostrarle sus códigos de recuperación, así que no ha podido guardarlos. Genere ahora un nuevo juego en su configuración (sustituye al que nunca vio).
