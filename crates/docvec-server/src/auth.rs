//! API keys: `read` keys search and read, `write` keys also ingest and delete, `admin` keys also rebuild
//! and manage keys. A key is shown once when made; the store keeps only its blake3 hash, so a leaked
//! database does not leak keys. With no live key the API is open, which the server allows on a loopback
//! address only.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use docvec_engine::EngineError;

use crate::error::ApiError;
use crate::state::AppState;

/// What a key may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "read" => Ok(Role::Read),
            "write" => Ok(Role::Write),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role `{other}` (read, write or admin)")),
        }
    }
}

/// A key just made: the only time the key itself is seen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewKey {
    pub id: String,
    pub role: Role,
    pub name: String,
    /// Send as `Authorization: Bearer KEY` or `X-API-Key: KEY`.
    pub key: String,
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, EngineError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| EngineError::Internal(format!("no randomness for a key: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn hash_key(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex().to_string()
}

/// Make a key and store its hash (used by `docvec keys create` and `POST /keys`).
pub async fn create_key(
    store: &docvec_engine::Store,
    role: Role,
    name: &str,
) -> Result<NewKey, EngineError> {
    let id = format!("key_{}", random_hex(6)?);
    let key = format!("dvk_{}", random_hex(32)?);
    crate::store::create_api_key(store, &id, name, role.as_str(), &hash_key(&key)).await?;
    Ok(NewKey {
        id,
        role,
        name: name.to_string(),
        key,
    })
}

/// The key a request carries, if any.
fn presented_key(req: &Request) -> Option<String> {
    presented_key_str(req).map(String::from)
}

fn presented_key_str(req: &Request) -> Option<&str> {
    if let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .map(str::trim);
    }
    req.headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Let the request through when it carries a key of at least `needed`.
pub(crate) async fn check(
    state: &AppState,
    key: Option<String>,
    needed: Role,
) -> Result<Option<Role>, ApiError> {
    let hash = key.as_deref().map(hash_key);
    let (live, role) = crate::store::check_api_key(state.store(), hash.as_deref())
        .await
        .map_err(|e| ApiError::from(EngineError::from(e)))?;
    if live == 0 && !state.keys_required() {
        return Ok(None);
    }
    let Some(role) = role.and_then(|r| r.parse::<Role>().ok()) else {
        let message = if key.is_some() {
            "the API key is not valid (unknown or revoked)"
        } else {
            "this docvec requires an API key: send `Authorization: Bearer KEY` (make one with `docvec keys create`)"
        };
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            message,
        ));
    };
    if role < needed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this needs a {} key; the key sent is a {} key",
                needed.as_str(),
                role.as_str()
            ),
        ));
    }
    Ok(Some(role))
}

pub(crate) async fn require_read(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check(&state, presented_key(&req), Role::Read).await?;
    Ok(next.run(req).await)
}

pub(crate) async fn require_write(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let role = check(&state, presented_key(&req), Role::Write).await?;
    req.extensions_mut().insert(Caller(role));
    Ok(next.run(req).await)
}

/// The role of the key a request was let through with (`None` when keys are not required), for a
/// handler whose needs depend on what the request touches (cancelling a rebuild needs admin).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller(pub Option<Role>);

impl Caller {
    pub(crate) fn require(&self, needed: Role, what: &str) -> Result<(), ApiError> {
        match self.0 {
            Some(role) if role < needed => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "{what} needs a {} key; the key sent is a {} key",
                    needed.as_str(),
                    role.as_str()
                ),
            )),
            _ => Ok(()),
        }
    }
}

pub(crate) async fn require_admin(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check(&state, presented_key(&req), Role::Admin).await?;
    Ok(next.run(req).await)
}
