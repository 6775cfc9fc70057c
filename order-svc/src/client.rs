//! order-svc's calls to the other services: one typed method per remote call.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use shop_kit::client::{CallError, Reply, ServiceClient};
use shop_kit::contract::delivery::CourierBooking;
use shop_kit::contract::notify::SendMessage;
use shop_kit::contract::participant::{RefusalProblem, ReservationList};
use shop_kit::contract::stock::Product;
use shop_kit::ledger::Reservations;
use uuid::Uuid;

use crate::domain::{Keeps, Order, Participant, Refusal, SagaDefinition};

/// What a saga call came back with.
#[derive(Debug)]
pub enum Answer<T> {
    /// Done (now or before).
    Done(T),
    /// Refused by the participant: final, never retried; stock names the first product short.
    Refused(Refusal, Option<Uuid>),
    /// No usable answer after the client's retries: may go away, may have taken effect.
    Unreachable(CallError),
}

/// The saga's participants, each called through one typed client of the reservation
/// protocol, as the saga's definition says; and the catalogue.
#[derive(Clone)]
pub struct Participants {
    /// The saga they make up.
    pub saga: Arc<SagaDefinition>,
    /// One client per participant, in saga order.
    clients: Vec<ServiceClient>,
    /// stock-svc's catalogue, which prices an order's lines.
    catalogue: ServiceClient,
}

impl Participants {
    /// The participants of `saga`, each reached through `client_of` its name (`None`: no URL
    /// is configured for it), and the catalogue at `catalogue`.
    pub fn new(
        saga: Arc<SagaDefinition>,
        mut client_of: impl FnMut(&'static str) -> Option<ServiceClient>,
        catalogue: ServiceClient,
    ) -> anyhow::Result<Self> {
        let clients = saga
            .participants()
            .map(|p| {
                let name = saga.name(p);
                client_of(name).ok_or_else(|| anyhow::anyhow!("no URL for participant {name}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            saga,
            clients,
            catalogue,
        })
    }

    fn reservations(&self, p: Participant) -> Reservations<'_> {
        Reservations(&self.clients[p.index().min(self.clients.len().saturating_sub(1))])
    }

    /// A product from the catalogue; `None` when it does not exist.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn product(&self, id: Uuid) -> Result<Option<Product>, CallError> {
        let reply = self
            .catalogue
            .send::<()>(Method::GET, &format!("/products/{id}"), None)
            .await?;
        match reply.status {
            StatusCode::OK => reply.json().map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(reply.unexpected()),
        }
    }

    /// The newest product of the catalogue, if any.
    pub async fn newest_product(&self) -> Result<Option<Uuid>, CallError> {
        let reply = self
            .catalogue
            .send::<()>(Method::GET, "/products?limit=1", None)
            .await?;
        if reply.status != StatusCode::OK {
            return Err(reply.unexpected());
        }
        let page: serde_json::Value = reply.json()?;
        Ok(page["items"][0]["id"]
            .as_str()
            .and_then(|id| id.parse().ok()))
    }

    /// Reserves with a participant for an order, with the body its definition builds; answers
    /// what the order keeps from the answer (the courier booked).
    #[tracing::instrument(level = "debug", skip(self, o), fields(order_id = %o.id))]
    pub async fn reserve(&self, p: Participant, o: &Order) -> Answer<Option<Uuid>> {
        let def = self.saga.get(p);
        let client = self.reservations(p);
        let reply = match (def.reserve)(o) {
            Ok(body) => client.reserve(&body).await,
            Err(source) => Err(CallError::Unsendable {
                service: client.0.service(),
                source,
            }),
        };
        self.answer(p, reply, &[StatusCode::CREATED], |r| match def.keeps {
            Keeps::Courier => r.json::<CourierBooking>().map(|b| Some(b.courier_id)),
            Keeps::Nothing => Ok(None),
        })
    }

    /// Confirms an order's reservation with a participant.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn confirm(&self, p: Participant, order_id: Uuid) -> Answer<()> {
        let reply = self.reservations(p).confirm(order_id).await;
        self.answer(p, reply, &[StatusCode::OK], |_| Ok(()))
    }

    /// Releases an order's reservation with a participant (or leaves the release mark).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn release(&self, p: Participant, order_id: Uuid) -> Answer<()> {
        let reply = self.reservations(p).release(order_id).await;
        self.answer(p, reply, &[StatusCode::OK, StatusCode::NO_CONTENT], |_| {
            Ok(())
        })
    }

    /// A page of a participant's reservations, by order id, after `after`: what the books
    /// audit compares with the orders.
    pub async fn list(
        &self,
        p: Participant,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<ReservationList, CallError> {
        self.reservations(p).list(after, limit).await
    }

    /// Cancels an order's confirmed reservation with a participant (the refund saga).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn cancel(&self, p: Participant, order_id: Uuid) -> Answer<()> {
        let reply = self.reservations(p).cancel(order_id).await;
        self.answer(p, reply, &[StatusCode::OK], |_| Ok(()))
    }

    /// What `p`'s reply means to the saga: done (with what `done` reads from it), refused as
    /// its definition's shortage reads the status, or unreachable.
    fn answer<T>(
        &self,
        p: Participant,
        reply: Result<Reply, CallError>,
        ok: &[StatusCode],
        done: impl FnOnce(&Reply) -> Result<T, CallError>,
    ) -> Answer<T> {
        match reply {
            Ok(r) if ok.contains(&r.status) => match done(&r) {
                Ok(v) => Answer::Done(v),
                Err(e) => Answer::Unreachable(e),
            },
            Ok(r)
                if r.status.is_client_error()
                    && !matches!(r.status.as_u16(), 401 | 403 | 408 | 429) =>
            {
                let product = r.json::<RefusalProblem>().ok().and_then(|b| b.product_id);
                let shortage = self.saga.get(p).shortage;
                Answer::Refused(Refusal::from_status(shortage, r.status), product)
            }
            Ok(r) => Answer::Unreachable(r.unexpected()),
            Err(e) => Answer::Unreachable(e),
        }
    }
}

/// notify-svc.
#[derive(Clone)]
pub struct Notifier {
    /// The client.
    pub notify: ServiceClient,
}

impl Notifier {
    /// Delivers a message (idempotent by its id).
    #[tracing::instrument(level = "debug", skip(self, msg), fields(message_id = %msg.id))]
    pub async fn send(&self, msg: &SendMessage) -> Result<(), CallError> {
        let reply = self
            .notify
            .send(Method::POST, "/internal/messages", Some(msg))
            .await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(reply.unexpected())
        }
    }
}
