//! Phase: the app's answer decides. A login's answer is checked and, when the app signed
//! someone in, withheld behind the second factor (`login`); every other answer of a gated
//! request passes the release gate (`gate`); the rest pass as they are. Where the app must be
//! asked who a session is, that is a step here with its own name (`whoami`): the filters only
//! read answers and what the app said.

use super::admit::Admission;
use super::body::Reply;
use super::error::ProxyError;
use super::gate::{self, Inspected};
use super::login::{self, Answered, PendingLogin, MAX_LOGIN_ANSWER};
use super::state::UpstreamTarget;
use super::upstream::UpstreamBody;
use super::whoami::{self, AppSays};
use crate::config::{IdentitySource, WhoamiAnswer};
use crate::mfa::flow::Context;
use crate::wire::collect::collect_limited;
use http::Response;

/// What the answer phase needs from the request's walk.
pub struct Exchange<'e, 'a> {
    pub ctx: &'e Context<'a>,
    pub admission: &'e Admission<'a>,
    /// A login's pending state, when the request was one (read in the login phase).
    pub login: Option<PendingLogin<'a>>,
    /// The request changes something (not GET, HEAD or OPTIONS).
    pub writes: bool,
    pub upstream: &'e UpstreamTarget,
    /// The request as it went to the app, to ask the app the same way (see `whoami::Base`).
    pub whoami_base: Option<whoami::Base>,
    pub json: bool,
    pub prefix: &'e str,
}

pub async fn decide(
    exchange: Exchange<'_, '_>,
    response: Response<UpstreamBody>,
) -> Result<Response<Reply>, ProxyError> {
    let Exchange {
        ctx,
        admission,
        login,
        writes,
        upstream,
        whoami_base,
        json,
        prefix,
    } = exchange;
    let response = match login {
        Some(pending) => match login::check(ctx, pending, response).await? {
            login::Checked::NotALogin(passed) => passed,
            login::Checked::Unsettled(unsettled) => {
                // Step: whom did the app sign in?
                let (typed, base) = unsettled.asked_with();
                let says =
                    whoami::who_signed_in(ctx, typed, base, upstream, &unsettled.answer).await;
                match login::settle(ctx, unsettled, says, json, prefix).await? {
                    Answered::Ready(answer) => return Ok(answer),
                    Answered::NotALogin(passed) => passed,
                }
            }
        },
        None => response.map(Reply::Upstream),
    };
    if !admission.gated() {
        return Ok(response);
    }
    // The release gate: no app session leaves except through the second factor; a verified
    // session follows the app's cookie rotation (with proof) and ends with its logout.
    let logout = matches!(admission, Admission::Checked { kind, .. } if kind.is_logout());
    let checked = admission.checked();
    let mut response = response;
    let session = gate::follow(ctx, checked, logout, writes, &mut response).await?;
    // The same test that made this session's requests take turns (`take_turn`).
    let again = session.filter(|_| ctx.settings.asks_after_each_answer());
    if let (
        Some(session),
        IdentitySource::Whoami {
            path,
            answer: reads,
            ..
        },
    ) = (again, &ctx.settings.identity)
    {
        // Step: is the session still its user's after this answer?
        let asked = whoami_base.clone().map(|base| (base, path.as_str(), reads));
        let (read, says) = ask_again(ctx, upstream, asked, response).await?;
        response = gate::still_the_same_user(ctx, session, says, read).await?;
    }
    let unsettled = match gate::inspect(ctx, session, writes, response).await? {
        Inspected::Pass(response) => return Ok(response),
        Inspected::Unsettled(unsettled) => unsettled,
    };
    // Step: whom did the app sign in? Its word, never the gateway's reading of the request.
    let basic_user = checked.and_then(|c| c.basic_user.clone());
    let says =
        whoami::who_signed_in(ctx, basic_user, whoami_base, upstream, &unsettled.answer).await;
    gate::settle(ctx, unsettled, says, json, prefix).await
}

/// Asks the app whose a verified session is after `answer` (`whoami.after_each_answer`). The
/// answer is read first (bounded), as the app may hold the session until it has sent it all
/// (PHP's session lock).
async fn ask_again(
    ctx: &Context<'_>,
    upstream: &UpstreamTarget,
    asked: Option<(whoami::Base, &str, &WhoamiAnswer)>,
    answer: Response<Reply>,
) -> Result<(Response<Reply>, AppSays), ProxyError> {
    let (parts, body) = answer.into_parts();
    let body = match body {
        Reply::Page(bytes) => bytes,
        Reply::Upstream(body) => collect_limited(body, MAX_LOGIN_ANSWER).await.map_err(|e| {
            tracing::warn!(app = %ctx.app.name, request_id = %ctx.request_id, error = %e, "answer not read in full: not checked");
            ProxyError::AnswerUnchecked
        })?,
    };
    let says = match asked {
        Some((base, path, reads)) => whoami::ask(ctx, upstream, base.headers, path, reads).await,
        None => AppSays::Unknown,
    };
    Ok((Response::from_parts(parts, Reply::Page(body)), says))
}
