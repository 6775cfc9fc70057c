//! What the services' database connections do between requests: a transaction dropped without
//! its commit, or whose commit failed, leaves the connection usable and outside any
//! transaction (PostgreSQL's pool, the embedded SQLite connection); a message numbered in its
//! own insert takes the next number however many are stored at once; and a lone statement
//! whose rows are read to its end reports a commit that fails.

use futures_util::future::join_all;
use sea_orm::ConnectionTrait;
use shop_kit::contract::notify::SendMessage;
use shop_tests::Databases;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_right_after_a_dropped_one_commits() {
    let dbs = Databases::fresh().await;
    let db = dbs.connect("probe").await;
    shop_kit::db::execute(&db, "CREATE TABLE probe (id BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    for i in 0..50i64 {
        let txn = db.begin().await.unwrap();
        let sql = format!("INSERT INTO probe (id) VALUES ({})", 2 * i);
        txn.execute_unprepared(&sql).await.unwrap();
        drop(txn); // rolled back (on PostgreSQL queued ahead of the next statement)
        // Then a transaction that commits: were the connection still counted inside the
        // dropped one, its BEGIN would become a SAVEPOINT and its COMMIT a release of it, with
        // the row left in a transaction nobody commits.
        let sql = format!("INSERT INTO probe (id) VALUES ({})", 2 * i + 1);
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared(&sql).await.unwrap();
        txn.commit().await.unwrap();
    }
    // Another connection sees exactly the committed rows.
    let other = dbs.connect("probe").await;
    let rows = other
        .query_all_raw(sea_orm::Statement::from_string(
            other.get_database_backend(),
            "SELECT id FROM probe ORDER BY id",
        ))
        .await
        .unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.try_get("", "id").unwrap()).collect();
    assert_eq!(ids, (0..50).map(|i| 2 * i + 1).collect::<Vec<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_stored_at_once_for_one_user_take_consecutive_numbers() {
    let dbs = Databases::fresh().await;
    let db = shop_kit::db::connect_and_migrate::<notify_svc::store::Migrator>(
        &dbs.url("notify").await,
        shop_kit::db::DEFAULT_POOL_SIZE,
    )
    .await
    .unwrap();
    let store = notify_svc::store::NotifyStore::new(db);
    let user_id = Uuid::now_v7();
    let messages: Vec<SendMessage> = (0..24)
        .map(|i| SendMessage {
            id: Uuid::now_v7(),
            user_id,
            order_id: None,
            text: format!("message {i}"),
        })
        .collect();
    let stored = join_all(messages.iter().map(|m| store.store(m))).await;
    let mut numbers: Vec<i64> = stored
        .into_iter()
        .map(|s| match s.unwrap() {
            notify_svc::store::Stored::New(m) => m.seq,
            other => panic!("a new message was not stored as new: {other:?}"),
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=24).collect::<Vec<i64>>());
    // The same message again is a repeat with its number; another text under its id a conflict.
    match store.store(&messages[3]).await.unwrap() {
        notify_svc::store::Stored::Repeat(m) => assert_eq!(m.text, "message 3"),
        other => panic!("a repeat was {other:?}"),
    }
    let changed = SendMessage {
        text: "something else".into(),
        ..messages[3].clone()
    };
    assert_eq!(
        store.store(&changed).await.unwrap(),
        notify_svc::store::Stored::Conflict
    );
    assert_eq!(store.last_seq(user_id).await.unwrap(), 24);
}

/// A lone `UPDATE … RETURNING` in autocommit (a courier's confirm, a message's insert) has its
/// rows read to the statement's end, so a commit that fails is reported, not lost: here a
/// deferred foreign key, checked only at the commit, fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_statement_read_to_its_end_reports_a_failed_commit() {
    let dbs = Databases::fresh().await;
    let db = dbs.connect("commit").await;
    for sql in [
        "CREATE TABLE parent (id BIGINT PRIMARY KEY)",
        "CREATE TABLE child (id BIGINT PRIMARY KEY, state TEXT NOT NULL, parent_id BIGINT \
         REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
        "INSERT INTO parent (id) VALUES (1)",
        "INSERT INTO child (id, state, parent_id) VALUES (1, 'reserved', 1)",
    ] {
        shop_kit::db::execute(&db, sql).await.unwrap();
    }
    let backend = db.get_database_backend();
    let update = |sql: &str| sea_orm::Statement::from_string(backend, sql.to_owned());
    let failed = db
        .query_all_raw(update(
            "UPDATE child SET state = 'confirmed', parent_id = 99 WHERE id = 1 RETURNING id, state",
        ))
        .await;
    assert!(failed.is_err(), "a failed commit answered {failed:?}");
    let rows = db
        .query_all_raw(update(
            "UPDATE child SET state = 'confirmed' WHERE id = 1 RETURNING id, state",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the row was still reserved, and moves now");
    let other = dbs.connect("commit").await;
    let state: String = other
        .query_one_raw(update("SELECT state FROM child WHERE id = 1"))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "state")
        .unwrap();
    assert_eq!(state, "confirmed");
}

/// A transaction whose `COMMIT` fails (a deferred foreign key) is an error, keeps nothing, and
/// leaves the connection to the next transaction, which commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_keeps_nothing_and_the_next_transaction_commits() {
    let dbs = Databases::fresh().await;
    let db = dbs.connect("failed").await;
    for sql in [
        "CREATE TABLE parent (id BIGINT PRIMARY KEY)",
        "CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT REFERENCES parent (id) \
         DEFERRABLE INITIALLY DEFERRED)",
        "INSERT INTO parent (id) VALUES (1)",
    ] {
        shop_kit::db::execute(&db, sql).await.unwrap();
    }
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("INSERT INTO child (id, parent_id) VALUES (1, 99)")
        .await
        .unwrap();
    txn.execute_unprepared("INSERT INTO parent (id) VALUES (2)")
        .await
        .unwrap();
    assert!(txn.commit().await.is_err(), "a commit that broke a key");
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("INSERT INTO child (id, parent_id) VALUES (2, 1)")
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let other = dbs.connect("failed").await;
    let count = |table: &'static str| {
        let other = other.clone();
        async move {
            let sql = format!("SELECT COUNT(*) AS n FROM {table}");
            let row = other
                .query_one_raw(sea_orm::Statement::from_string(
                    other.get_database_backend(),
                    sql,
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    assert_eq!((count("parent").await, count("child").await), (1, 1));
}
