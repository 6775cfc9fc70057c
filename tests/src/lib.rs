//! The test harness: spawns the whole shop in-process, every service on port 0 with a fresh
//! database of its own (SQLite in a temporary directory, or PostgreSQL when
//! `SHOP_TEST_DATABASE_URL` names a server), leaves first and order-svc last, and returns typed
//! handles. It also checks the shop's invariants after a test.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used)]

pub mod answer;
mod client;
mod databases;
pub mod endpoints;
pub mod faults;
mod invariants;
pub mod loyalty;
pub mod metrics;
mod shop;

pub use answer::{Answer, Order, OrderItem, Page, Problem};
pub use client::{Api, Shopper};
pub use databases::Databases;
pub use endpoints::{Delivery, Entry, History, HistoryEvent, Message};
pub use faults::{Call, Fault, Faults};
pub use shop::{ADMIN_PASSWORD, Running, TestShop};
