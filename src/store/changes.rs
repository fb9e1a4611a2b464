//! Live-state changes between the instances sharing one PostgreSQL database: NOTIFY on one
//! channel, and one LISTEN connection per instance forwarding what arrives (sqlx's listener
//! reconnects by itself after a lost connection).

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc::{self, UnboundedReceiver};

use super::StoreError;

/// The NOTIFY channel of the live-state changes.
const CHANNEL: &str = "bbb_connector_live_state";
/// The pause before listening again after the listener failed to reconnect.
const RELISTEN_PAUSE: Duration = Duration::from_secs(1);

pub async fn publish(pool: &PgPool, payload: &str) -> Result<(), StoreError> {
    sqlx::query("select pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(pool).await?;
    Ok(())
}

/// Starts listening; the task ends once the receiver is dropped and a notification arrives.
pub async fn listen(pool: &PgPool) -> Result<UnboundedReceiver<String>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(notification) => {
                    if sender.send(notification.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    if sender.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %error, "live-state changes: the LISTEN connection failed, retrying");
                    tokio::time::sleep(RELISTEN_PAUSE).await;
                }
            }
        }
    });
    Ok(receiver)
}
