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
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
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
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let info = std::process::Command::new("redis-cli")
            .args(["-p", &ports[0].to_string(), "cluster", "info"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "cluster not ok");
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
