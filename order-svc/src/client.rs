//! order-svc's calls to the other services: one typed method per remote call.

use reqwest::{Method, StatusCode};
use shop_kit::client::{CallError, Reply, ServiceClient};
use shop_kit::contract::delivery::{BookCourier, CourierBooking};
use shop_kit::contract::notify::SendMessage;
use shop_kit::contract::participant::RefusalProblem;
use shop_kit::contract::payment::ReserveFunds;
use shop_kit::contract::stock::{Product, ReserveStock, StockLine};
use shop_kit::ledger::Reservations;
use uuid::Uuid;

use crate::domain::{Participant, Refusal};
use crate::store::order;

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

fn answer<T>(
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
            Answer::Refused(Refusal::from_status(p.shortage(), r.status), product)
        }
        Ok(r) => Answer::Unreachable(r.unexpected()),
        Err(e) => Answer::Unreachable(e),
    }
}

/// The saga's participants and the catalogue.
#[derive(Clone)]
pub struct Participants {
    /// payment-svc.
    pub payment: ServiceClient,
    /// stock-svc.
    pub stock: ServiceClient,
    /// delivery-svc.
    pub delivery: ServiceClient,
}

impl Participants {
    fn client(&self, p: Participant) -> &ServiceClient {
        match p {
            Participant::Payment => &self.payment,
            Participant::Stock => &self.stock,
            Participant::Delivery => &self.delivery,
        }
    }

    /// A product from the catalogue; `None` when it does not exist.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn product(&self, id: Uuid) -> Result<Option<Product>, CallError> {
        let reply = self
            .stock
            .send::<()>(Method::GET, &format!("/products/{id}"), None)
            .await?;
        match reply.status {
            StatusCode::OK => reply.json().map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(reply.unexpected()),
        }
    }

    /// Reserves with a participant for an order; for delivery, answers the courier booked.
    /// Stock gets the one-product form for an order of one line, `items` otherwise.
    #[tracing::instrument(level = "debug", skip(self, o, lines), fields(order_id = %o.id))]
    pub async fn reserve(
        &self,
        p: Participant,
        o: &order::Model,
        lines: &[order::PricedLine],
    ) -> Answer<Option<Uuid>> {
        let client = Reservations(self.client(p));
        let reply = match p {
            Participant::Payment => {
                let body = ReserveFunds {
                    order_id: o.id,
                    user_id: o.user_id,
                    amount: o.total,
                };
                client.reserve(&body).await
            }
            Participant::Stock => {
                let lines: Vec<StockLine> = lines
                    .iter()
                    .map(|l| StockLine {
                        product_id: l.product_id,
                        quantity: l.quantity,
                    })
                    .collect();
                let body = ReserveStock::of(o.id, &lines);
                client.reserve(&body).await
            }
            Participant::Delivery => {
                let body = BookCourier {
                    order_id: o.id,
                    user_id: o.user_id,
                    date: o.delivery_date,
                };
                client.reserve(&body).await
            }
        };
        answer(p, reply, &[StatusCode::CREATED], |r| match p {
            Participant::Delivery => r.json::<CourierBooking>().map(|b| Some(b.courier_id)),
            _ => Ok(None),
        })
    }

    /// Confirms an order's reservation with a participant.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn confirm(&self, p: Participant, order_id: Uuid) -> Answer<()> {
        let reply = Reservations(self.client(p)).confirm(order_id).await;
        answer(p, reply, &[StatusCode::OK], |_| Ok(()))
    }

    /// Releases an order's reservation with a participant (or leaves the release mark).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn release(&self, p: Participant, order_id: Uuid) -> Answer<()> {
        let reply = Reservations(self.client(p)).release(order_id).await;
        answer(p, reply, &[StatusCode::OK, StatusCode::NO_CONTENT], |_| {
            Ok(())
        })
    }
}

impl Participants {
    /// Cancels an order's confirmed reservation with a participant (the refund saga).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn cancel(&self, p: Participant, order_id: Uuid) -> Answer<()> {
        let reply = Reservations(self.client(p)).cancel(order_id).await;
        answer(p, reply, &[StatusCode::OK], |_| Ok(()))
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
