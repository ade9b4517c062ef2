use super::*;

pub async fn fresh() -> RedisStore {
    let url =
        std::env::var("MFA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let prefix = format!("mfa-test-{:016x}:", rand::random::<u64>());
    RedisStore::connect(&url, &prefix, Duration::from_secs(2), Topology::Single)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_passes_the_ephemeral_store_suite() {
    let store = fresh().await;
    store
        .ping()
        .await
        .expect("Redis must run for these tests (scripts/test starts it)");
    super::super::suite::ephemeral_store_suite(&store).await;
}

/// Three cluster nodes of this test's own, killed on drop.
struct Cluster(Vec<std::process::Child>, std::path::PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// Distinct free ports: all held open until the last is picked, so none is handed out twice.
fn free_ports(count: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn start_cluster() -> (Cluster, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("mfa-cluster-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let ports = free_ports(3);
    let mut children = Vec::new();
    for port in &ports {
        children.push(
            std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .arg("--cluster-config-file")
                .arg(dir.join(format!("nodes-{port}.conf")))
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server (scripts/test installs it)"),
        );
    }
    let cluster = Cluster(children, dir);
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    for port in &ports {
        let deadline = crate::ops::clock::instant() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            assert!(
                crate::ops::clock::instant() < deadline,
                "cluster node did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let created = std::process::Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stdout)
    );
    let deadline = crate::ops::clock::instant() + Duration::from_secs(20);
    loop {
        let info = std::process::Command::new("redis-cli")
            .args(["-p", &ports[0].to_string(), "cluster", "info"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
            break;
        }
        assert!(crate::ops::clock::instant() < deadline, "cluster not ok");
        std::thread::sleep(Duration::from_millis(100));
    }
    (cluster, nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_cluster_passes_the_ephemeral_store_suite() {
    let (_cluster, nodes) = start_cluster();
    let store = RedisStore::connect(
        "redis://127.0.0.1:1/",
        "mfa-cluster:",
        Duration::from_secs(2),
        Topology::Cluster { nodes },
    )
    .await
    .unwrap();
    store.ping().await.unwrap();
    super::super::suite::ephemeral_store_suite(&store).await;
}

/// A session whose record expired inside Redis is reported once, with its user, by whichever
/// caller removes it from the index; one ended by `end_session` is not reported at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_ended_by_their_timeouts_are_reported_once() {
    let store = fresh().await;
    let now = crate::ops::clock::unix_now();
    let mut idle = super::super::suite::sample_session(90, now);
    idle.user = "idler".into();
    idle.idle_timeout_secs = 1;
    let mut logged_out = super::super::suite::sample_session(91, now);
    logged_out.user = "leaver".into();
    let live = super::super::suite::sample_session(92, now);
    for s in [&idle, &logged_out, &live] {
        store.put_session(s).await.unwrap();
    }
    store.end_session(&logged_out.id_hash).await.unwrap();
    // The idle one's record lives one more second.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = crate::ops::clock::unix_now();
    let ended = store.reap_ended(later).await.unwrap();
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(
        (ended[0].user.as_str(), ended[0].reason),
        ("idler", "idle timeout")
    );
    assert_eq!(
        (ended[0].app.as_str(), ended[0].realm.as_str()),
        ("django", "main")
    );
    assert_eq!(ended[0].id_hash, idle.id_hash);
    // Another gateway's walk a second later finds nothing more.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(store.reap_ended(later + 2).await.unwrap().is_empty());
    assert_eq!(store.sessions(None, later).await.unwrap().len(), 1);
}
