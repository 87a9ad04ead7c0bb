//! The same behaviour from every store: a local folder, memory, and S3 through a real
//! S3-compatible server (moto) on 127.0.0.1.

use std::io::Write;

use bytes::Bytes;
use groves_store::{LocalStore, MemoryStore, Store, StoreError};
#[cfg(feature = "external-tools")]
use groves_tests::MotoServer;

async fn conformance(store: &dyn Store) {
    let what = store.describe();
    // put / get / head
    store
        .put("a/b/one.txt", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(
        &store.get("a/b/one.txt").await.unwrap()[..],
        b"hello",
        "{what}"
    );
    let meta = store.head("a/b/one.txt").await.unwrap().expect("head");
    assert_eq!(meta.size, 5);
    assert_eq!(meta.key, "a/b/one.txt");
    // overwrite
    store
        .put("a/b/one.txt", Bytes::from_static(b"hello, again"))
        .await
        .unwrap();
    assert_eq!(
        &store.get("a/b/one.txt").await.unwrap()[..],
        b"hello, again"
    );
    // missing objects
    match store.get("a/missing").await {
        Err(StoreError::NotFound { key, .. }) => assert_eq!(key, "a/missing"),
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
    assert!(store.head("a/missing").await.unwrap().is_none());
    assert!(matches!(
        store.fetch_to_file("a/missing").await,
        Err(StoreError::NotFound { .. })
    ));
    // list: sorted, by prefix, partial segment prefixes included
    for k in ["a/bc/x", "a/b/two.txt", "ab/y", "z"] {
        store
            .put(k, Bytes::from(k.as_bytes().to_vec()))
            .await
            .unwrap();
    }
    let keys = |v: Vec<groves_store::ObjectMeta>| v.into_iter().map(|m| m.key).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list("a/b").await.unwrap()),
        ["a/b/one.txt", "a/b/two.txt", "a/bc/x"],
        "{what}"
    );
    assert_eq!(
        keys(store.list("a/b/").await.unwrap()),
        ["a/b/one.txt", "a/b/two.txt"]
    );
    assert_eq!(
        keys(store.list("").await.unwrap()),
        ["a/b/one.txt", "a/b/two.txt", "a/bc/x", "ab/y", "z"]
    );
    assert!(store.list("nothing/").await.unwrap().is_empty());
    // put_if_absent: exactly one writer wins, the object keeps the winner's bytes
    assert!(store
        .put_if_absent("once", Bytes::from_static(b"first"))
        .await
        .unwrap());
    assert!(!store
        .put_if_absent("once", Bytes::from_static(b"second"))
        .await
        .unwrap());
    assert_eq!(&store.get("once").await.unwrap()[..], b"first");
    // delete, also of a missing key
    store.delete("z").await.unwrap();
    store.delete("z").await.unwrap();
    assert!(store.head("z").await.unwrap().is_none());
    // files
    let mut src = tempfile::NamedTempFile::new().unwrap();
    src.write_all(b"from a file").unwrap();
    store.put_file("f/file.bin", src.path()).await.unwrap();
    let local = store.fetch_to_file("f/file.bin").await.unwrap();
    assert_eq!(std::fs::read(local.path()).unwrap(), b"from a file");
    // invalid keys never reach the backend
    for bad in ["/abs", "a/../b", "", "a//b"] {
        assert!(matches!(
            store.put(bad, Bytes::new()).await,
            Err(StoreError::InvalidKey { .. })
        ));
    }
    // a failed write leaves nothing behind
    assert!(store
        .put_file("f/never", std::path::Path::new("/nonexistent/source"))
        .await
        .is_err());
    assert!(store.head("f/never").await.unwrap().is_none());
}

/// A file of `mb` MiB with a position-dependent pattern (so misordered parts are caught).
fn patterned_file(mb: usize) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let mut block = vec![0u8; 1 << 20];
    for i in 0..mb {
        for (j, b) in block.iter_mut().enumerate() {
            *b = ((i * 31 + j * 7) % 251) as u8;
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
    f
}

async fn large_objects(store: &dyn Store) {
    // Over 100 MB: multipart on S3 (16 MiB parts, the last one short).
    let src = patterned_file(105);
    store.put_file("big/file.bin", src.path()).await.unwrap();
    assert_eq!(
        store.head("big/file.bin").await.unwrap().unwrap().size,
        105 << 20
    );
    let back = store.fetch_to_file("big/file.bin").await.unwrap();
    let (a, b) = (
        std::fs::read(src.path()).unwrap(),
        std::fs::read(back.path()).unwrap(),
    );
    assert!(
        a == b,
        "{}: large object differs after round trip",
        store.describe()
    );
    // From memory, over the multipart threshold as well.
    let data = Bytes::from(a[..70 << 20].to_vec());
    store.put("big/memory.bin", data.clone()).await.unwrap();
    assert!(store.get("big/memory.bin").await.unwrap() == data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::create(dir.path()).unwrap();
    conformance(&store).await;
    large_objects(&store).await;
    // Staging files never show up as objects.
    assert!(store
        .list("")
        .await
        .unwrap()
        .iter()
        .all(|m| !m.key.starts_with('.')));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conformance() {
    conformance(&MemoryStore::new()).await;
}

#[cfg(feature = "external-tools")] // a moto server
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_conformance() {
    let moto = MotoServer::start();
    let store = moto.create_bucket("conformance").await;
    conformance(&store).await;
    large_objects(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_put_if_absent_has_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let local = std::sync::Arc::new(LocalStore::create(dir.path()).unwrap());
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let s = local.clone();
        tasks.push(tokio::spawn(async move {
            s.put_if_absent("claim", Bytes::from(vec![i]))
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
}
