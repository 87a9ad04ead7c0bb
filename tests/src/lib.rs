//! Harness for the integration tests: a real S3-compatible server (moto) on 127.0.0.1, S3
//! clients pointed at it, and sample raw files from the generator.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

/// A `moto_server` process on a free loopback port, killed on drop. `scripts/test.sh`
/// installs it (`pip install 'moto[server]'`).
pub struct MotoServer {
    child: Child,
    pub port: u16,
}

impl MotoServer {
    pub fn start() -> MotoServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free loopback port");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start moto_server: install it with pip install 'moto[server]' (scripts/test.sh does)");
        let server = MotoServer { child, port };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points the AWS SDK (and so the groves CLI) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_S3", self.endpoint()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// A client for this server, built explicitly (not from the process environment, which
    /// tests running in parallel threads share).
    pub fn client(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub async fn create_bucket(&self, name: &str) -> shared::store::S3Store {
        let client = self.client();
        client
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("create bucket");
        shared::store::S3Store::new(client, name)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a generated raw file for `symbol` into `dir` and returns its path.
pub fn gen_raw(dir: &Path, symbol: &str, days: usize, seed: u64, legacy: bool) -> PathBuf {
    let opts = datagen::GenOptions {
        days,
        seed,
        layout: if legacy {
            datagen::Layout::Legacy
        } else {
            datagen::Layout::Current
        },
        ..datagen::GenOptions::default()
    };
    datagen::write_symbol_file(dir, symbol, &opts, &mut |_| {})
        .expect("generate raw file")
        .0
}

/// `TYPPRICE` and `date` of a raw file read independently of the processing code (plain CSV
/// parsing by column name), in file order.
pub fn read_typprice(path: &Path) -> Vec<(String, Option<f64>)> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .expect("open raw file");
    let header = r.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (d, t) = (col("date"), col("TYPPRICE"));
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            let p = rec
                .get(t)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<f64>().expect("price"));
            (rec.get(d).unwrap_or_default().to_string(), p)
        })
        .collect()
}
