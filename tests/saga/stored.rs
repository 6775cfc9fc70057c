//! The saga state an earlier release stored, read by this one: the migration that names the
//! participants an order holds (instead of counting saga positions) converts orders stored in
//! every state, and a row a replica of the previous release writes during a rollout still reads
//! right.

use order_svc::domain::{Held, SagaDefinition, SagaState, Step};
use order_svc::store::{Migrator, order};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, EntityTrait};
use sea_orm_migration::MigratorTrait;
use shop_tests::Databases;
use uuid::Uuid;

/// The migrations of the release before the participants were stored by name.
const BEFORE_NAMES: u32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_in_every_state_keep_what_they_hold_across_the_migration() {
    let dbs = Databases::fresh().await;
    let db = dbs.connect("order").await;
    let schema = db.schema_connection().await.unwrap();
    Migrator::up(&schema, Some(BEFORE_NAMES)).await.unwrap();
    // (status, step, held as the earlier release counted it, the names it means)
    let stored = [
        ("pending", "reserve_funds", 0, ""),
        ("pending", "reserve_funds", 1, "payment"),
        ("pending", "reserve_stock", 2, "payment,stock"),
        ("pending", "book_courier", 3, "payment,stock,delivery"),
        ("pending", "confirm", 3, "payment,stock,delivery"),
        ("pending", "compensate", 1, "payment"),
        ("pending", "compensate", 2, "payment,stock"),
        ("pending", "compensate", 3, "payment,stock,delivery"),
        ("needs_attention", "compensate", 2, "payment,stock"),
        ("needs_attention", "confirm", 3, "payment,stock,delivery"),
        ("refunding", "refund", 3, "payment,stock,delivery"),
        ("refunding", "refund", 2, "payment,stock"),
        ("refunding", "refund", 1, "payment"),
        ("completed", "done", 0, ""),
        ("cancelled", "done", 0, ""),
        ("refunded", "done", 0, ""),
    ];
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for (status, step, held, _) in stored {
        let id = Uuid::now_v7();
        let insert = Query::insert()
            .into_table(Alias::new("orders"))
            .columns(
                [
                    "id",
                    "user_id",
                    "product_id",
                    "quantity",
                    "unit_price",
                    "total",
                    "delivery_date",
                    "status",
                    "step",
                    "held",
                    "created_at",
                    "updated_at",
                ]
                .map(Alias::new),
            )
            .values_panic([
                id.into(),
                Uuid::now_v7().into(),
                Uuid::now_v7().into(),
                1i64.into(),
                10i64.into(),
                10i64.into(),
                now.date_naive().into(),
                status.into(),
                step.into(),
                held.into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        db.execute(&insert).await.unwrap();
        ids.push(id);
    }

    Migrator::up(&schema, None).await.unwrap();
    let saga = SagaDefinition::shop();
    for (id, (status, step, held, names)) in ids.iter().zip(stored) {
        let row = order::Entity::find_by_id(*id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let what = format!("{status} at {step} holding {held}");
        assert_eq!(row.holding, names, "{what}");
        let state = row.saga_state(&saga).unwrap();
        assert_eq!(saga.names(state.held), names, "{what}");
        assert_eq!(saga.step_name(state.step), step, "{what}");
        assert_eq!(i32::from(state.held.count()), held, "{what}");
    }

    // A replica of the previous release, in a rollout, moves a compensation on and writes the
    // count alone: the count is read, not the stale names.
    let compensating = ids[6];
    let bare = "UPDATE orders SET held = 1 WHERE id = ";
    let sql = match dbs.is_postgres() {
        true => format!("{bare}'{compensating}'"),
        false => format!("{bare}x'{}'", compensating.simple()),
    };
    shop_kit::db::execute(&db, &sql).await.unwrap();
    let row = order::Entity::find_by_id(compensating)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.holding, "payment,stock");
    let state: SagaState = row.saga_state(&saga).unwrap();
    assert_eq!(state.step, Step::Compensate);
    assert_eq!(state.held, Held::through(saga.by_name("payment").unwrap()));
}
