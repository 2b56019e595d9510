//! A local sandbox's own network.
//!
//! Sharing the host's network namespace would hand sandboxed code every service bound to the
//! host's loopback and every abstract unix socket (X11, D-Bus). So each sandbox gets a network
//! namespace of its own, held open by a small *holder* process for as long as the sandbox lives;
//! every command and terminal of the sandbox joins it (`nsenter`, then bubblewrap), so a dev
//! server started in one terminal is reachable from another, and from nothing else.
//!
//! - [`NetworkMode::Isolated`]: a user-mode network tool (`pasta`, else `slirp4netns`) attached
//!   to the namespace gives it a way out to the public internet — with the host's loopback *not*
//!   mapped and no port forwarded in either direction — and DNS through the tool. Private
//!   networks, cloud metadata and the host's own addresses are refused inside the namespace
//!   before a packet leaves it (see [`super::egress`]).
//! - [`NetworkMode::Registries`]: no route out; Aura's HTTP proxy listens on the sandbox's own
//!   loopback and goes out for it to the hosts the project allows (see [`crate::netpolicy`]).
//! - [`NetworkMode::Offline`]: loopback only.
//! - [`NetworkMode::Host`]: the host's namespace (only after the user accepted the warning).
//!
//! The preview proxy reaches a dev server bound to 127.0.0.1 *inside* the namespace through the
//! holder, which is a socket factory: asked over a private socket pair, it creates a TCP socket
//! in the sandbox's namespace and passes the descriptor back (`SCM_RIGHTS`). The proxy connects
//! that socket itself, so the holder never blocks and no port is ever opened on the host. This
//! needs no privilege (unlike `setns`, which wants `CAP_SYS_ADMIN` in the caller's namespace).

use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How a local sandbox reaches the network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum NetworkMode {
    /// Its own namespace with outbound internet through a user-mode network tool; nothing of the
    /// host (loopback services, abstract sockets) nor of other sandboxes is reachable.
    #[default]
    Isolated,
    /// Its own namespace with no route out: HTTP(S) only through Aura's proxy, to the project's
    /// list of hosts (the package registries by default), asking the user about any other.
    Registries,
    /// Its own namespace with loopback only.
    Offline,
    /// The host's network namespace: every service on the host's loopback is reachable.
    Host,
}

impl NetworkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Isolated => "isolated",
            NetworkMode::Registries => "registries",
            NetworkMode::Offline => "offline",
            NetworkMode::Host => "host",
        }
    }
}

/// The user-mode network tool that gives an isolated sandbox its way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Pasta(PathBuf),
    Slirp4netns(PathBuf),
}

impl Outbound {
    pub fn name(&self) -> &'static str {
        match self {
            Outbound::Pasta(_) => "pasta",
            Outbound::Slirp4netns(_) => "slirp4netns",
        }
    }

    /// Where the sandbox's DNS queries go: the tool's forwarder.
    pub fn dns(&self) -> std::net::Ipv4Addr {
        match self {
            Outbound::Pasta(_) => PASTA_DNS,
            Outbound::Slirp4netns(_) => SLIRP_DNS,
        }
    }
}

/// Where DNS queries go inside an isolated sandbox; the tool forwards them to the host's resolver
/// (which may itself be on the host's loopback, e.g. systemd-resolved).
const PASTA_DNS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(169, 254, 0, 53);
/// slirp4netns' built-in DNS forwarder.
const SLIRP_DNS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 0, 2, 3);

fn find(names: &[&str]) -> Option<PathBuf> {
    names.iter().map(PathBuf::from).find(|p| p.exists())
}

/// The installed user-mode network tools, best first.
pub fn outbound_tools() -> Vec<Outbound> {
    let mut out = Vec::new();
    if let Some(p) = find(&["/usr/bin/pasta", "/usr/local/bin/pasta", "/usr/sbin/pasta"]) {
        out.push(Outbound::Pasta(p));
    }
    if let Some(p) = find(&["/usr/bin/slirp4netns", "/usr/local/bin/slirp4netns"]) {
        out.push(Outbound::Slirp4netns(p));
    }
    out
}

/// `nsenter`, which puts a command into the holder's namespaces before bubblewrap starts.
pub fn nsenter() -> Option<PathBuf> {
    find(&["/usr/bin/nsenter", "/bin/nsenter"])
}

/// Finds a tool that really works here by bringing one namespace up with it (a tool may be
/// installed but unusable, e.g. when `/dev/net/tun` is not open to this user).
pub fn probe_isolated() -> Result<Outbound, String> {
    let tools = outbound_tools();
    if tools.is_empty() {
        return Err("neither 'pasta' (Debian/Ubuntu: apt install passt) nor 'slirp4netns' is installed".into());
    }
    let mut why = Vec::new();
    for tool in tools {
        match Netns::create(NetworkMode::Isolated, Some(&tool)) {
            Ok(_) => return Ok(tool),
            Err(e) => why.push(e),
        }
    }
    Err(why.join("; "))
}

/// A sandbox's network namespace, held open by a holder process; dropping it ends the holder
/// and the network tool (processes still inside keep only loopback).
pub struct Netns {
    mode: NetworkMode,
    holder: libc::pid_t,
    ctl: Mutex<UnixStream>,
    tool: Option<Child>,
    /// The `resolv.conf` the sandbox sees (pointing at the tool's DNS forwarder).
    resolv_dir: Option<tempfile::TempDir>,
    /// The Registries-only proxy: its port on the sandbox's loopback, and its task.
    proxy: Option<(u16, tokio::task::AbortHandle)>,
    /// The task that follows the filter's log (Internet mode).
    watcher: Option<tokio::task::AbortHandle>,
}

impl std::fmt::Debug for Netns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netns").field("mode", &self.mode).field("holder", &self.holder).finish()
    }
}

/// What the holder needs, prepared before `fork` (the child may not allocate).
struct HolderPlan {
    setgroups: CString,
    uid_map_path: CString,
    gid_map_path: CString,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl Netns {
    /// A new namespace for `mode` (`Isolated` or `Offline`), with `tool` attached for `Isolated`.
    pub fn create(mode: NetworkMode, tool: Option<&Outbound>) -> Result<Self, String> {
        assert!(mode != NetworkMode::Host, "the host network has no namespace of its own");
        let (ours, theirs) = UnixStream::pair().map_err(|e| format!("socket pair: {e}"))?;
        // SAFETY: getuid/getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let plan = HolderPlan {
            setgroups: CString::new("/proc/self/setgroups").unwrap(),
            uid_map_path: CString::new("/proc/self/uid_map").unwrap(),
            gid_map_path: CString::new("/proc/self/gid_map").unwrap(),
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
        };
        // SAFETY: the child runs only async-signal-safe system calls on memory prepared above and
        // never returns (see `holder_main`).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("cannot start the network holder: {}", io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: in the forked child; see above.
            unsafe { holder_main(theirs.as_raw_fd(), &plan) }
        }
        drop(theirs);
        let mut ns = Netns {
            mode,
            holder: pid,
            ctl: Mutex::new(ours),
            tool: None,
            resolv_dir: None,
            proxy: None,
            watcher: None,
        };
        ns.await_holder()?;
        if mode == NetworkMode::Isolated {
            let tool = tool.ok_or("no user-mode network tool for an isolated sandbox")?;
            // The filter is in place before there is any way out.
            super::egress::load(
                &ns.enter_argv()?,
                &super::egress::ruleset(tool.dns(), &super::egress::host_addresses()),
            )?;
            ns.attach_tool(tool)?;
        }
        Ok(ns)
    }

    pub fn mode(&self) -> NetworkMode {
        self.mode
    }

    /// The holder's pid: `/proc/<pid>/net/*` shows the namespace.
    pub fn holder_pid(&self) -> u32 {
        self.holder as u32
    }

    fn await_holder(&mut self) -> Result<(), String> {
        let mut ctl = self.ctl.lock();
        ctl.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut status = [0u8; 4];
        ctl.read_exact(&mut status).map_err(|e| format!("the network holder did not start: {e}"))?;
        match i32::from_ne_bytes(status) {
            0 => Ok(()),
            errno => Err(format!(
                "cannot create a network namespace: {} (are unprivileged user namespaces enabled?)",
                io::Error::from_raw_os_error(errno)
            )),
        }
    }

    fn attach_tool(&mut self, tool: &Outbound) -> Result<(), String> {
        let pid = self.holder.to_string();
        let mut cmd;
        match tool {
            Outbound::Pasta(bin) => {
                cmd = Command::new(bin);
                cmd.args(["--config-net", "--quiet", "--foreground"]);
                // SAFETY: getuid/getgid have no preconditions.
                let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
                if uid == 0 {
                    // pasta drops root to "nobody", who may not enter our namespace.
                    cmd.arg("--runas").arg(format!("{uid}:{gid}"));
                }
                // No port forwarding either way, and the gateway is not the host's loopback.
                cmd.args(["-t", "none", "-u", "none", "-T", "none", "-U", "none", "--no-map-gw"]);
                cmd.arg("--dns-forward").arg(PASTA_DNS.to_string());
                cmd.arg(&pid);
            }
            Outbound::Slirp4netns(bin) => {
                cmd = Command::new(bin);
                cmd.args(["--configure", "--mtu=65520", "--disable-host-loopback"]);
                cmd.arg(format!("--userns-path=/proc/{pid}/ns/user"));
                cmd.args([&pid, "tap0"]);
            }
        }
        let log = tempfile::tempfile().map_err(|e| format!("temporary file: {e}"))?;
        let log_read = log.try_clone().map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(log));
        let child = cmd.spawn().map_err(|e| format!("cannot run {}: {e}", tool.name()))?;
        self.tool = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if has_default_route(self.holder) {
                break;
            }
            let exited = self.tool.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let text = read_log(log_read);
                let why = if text.is_empty() { "it did not configure the network".to_string() } else { text };
                return Err(format!("{} cannot connect the sandbox: {why}", tool.name()));
            }
            std::thread::sleep(Duration::from_millis(3));
        }
        let dir = tempfile::Builder::new().prefix("aura-net-").tempdir().map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("resolv.conf"), format!("nameserver {}\n", tool.dns()))
            .map_err(|e| e.to_string())?;
        self.resolv_dir = Some(dir);
        Ok(())
    }

    /// The argv prefix that runs a command inside this namespace (before bubblewrap).
    pub fn enter_argv(&self) -> Result<Vec<String>, String> {
        let nsenter = nsenter().ok_or("the 'nsenter' program (util-linux) is not installed")?;
        let p = self.holder;
        Ok(vec![
            nsenter.display().to_string(),
            "--preserve-credentials".into(),
            format!("--user=/proc/{p}/ns/user"),
            format!("--net=/proc/{p}/ns/net"),
            "--".into(),
        ])
    }

    /// Starts the Registries-only proxy on the sandbox's own 127.0.0.1 (from a socket made in its
    /// namespace, listened on by Aura: no port opens on the host), deciding with `gate`.
    pub fn start_proxy(&mut self, gate: std::sync::Arc<crate::netpolicy::Gatekeeper>) -> Result<(), String> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| "the network proxy needs Aura's runtime")?;
        let _in_rt = rt.enter();
        let fd = self.tcp_socket(false).map_err(|e| format!("cannot make the proxy's socket: {e}"))?;
        let sock = tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(fd));
        let listener = sock
            .bind(([127, 0, 0, 1], 0).into())
            .and_then(|_| sock.listen(128))
            .map_err(|e| format!("the network proxy cannot listen in the sandbox: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let refused = std::sync::Arc::new(super::egress::blocked(&super::egress::host_addresses()));
        let task = rt.spawn(crate::netpolicy::proxy::serve(listener, gate, refused));
        self.proxy = Some((port, task.abort_handle()));
        Ok(())
    }

    /// Variables every command of the sandbox gets: where the proxy is, when there is one.
    pub fn env(&self) -> Vec<(String, String)> {
        let Some((port, _)) = self.proxy else { return Vec::new() };
        let url = format!("http://127.0.0.1:{port}");
        let local = "localhost,127.0.0.1,::1".to_string();
        ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]
            .into_iter()
            .map(|k| (k.to_string(), url.clone()))
            .chain(["NO_PROXY", "no_proxy"].into_iter().map(|k| (k.to_string(), local.clone())))
            .collect()
    }

    /// Files to show inside the sandbox instead of the host's (host path, sandbox path).
    pub fn overlays(&self) -> Vec<(PathBuf, PathBuf)> {
        let Some(dir) = &self.resolv_dir else { return Vec::new() };
        // /etc/resolv.conf may be a link into /run (systemd-resolved), which the sandbox gets
        // empty: put the file where the link leads.
        let target = std::fs::canonicalize("/etc/resolv.conf")
            .ok()
            .filter(|p| p.starts_with("/etc") || p.starts_with("/run"))
            .unwrap_or_else(|| PathBuf::from("/etc/resolv.conf"));
        vec![(dir.path().join("resolv.conf"), target)]
    }

    /// A new non-blocking TCP socket in the sandbox's namespace (IPv6 when `v6`), not yet
    /// connected: connecting it to 127.0.0.1 reaches the sandbox's loopback.
    pub fn tcp_socket(&self, v6: bool) -> io::Result<OwnedFd> {
        let ctl = self.ctl.lock();
        (&*ctl).write_all(&[if v6 { 6 } else { 4 }])?;
        recv_fd(ctl.as_raw_fd())
    }

    /// A non-blocking netfilter netlink socket of the sandbox's namespace (see
    /// [`super::connlog`]).
    pub fn netfilter_socket(&self) -> io::Result<OwnedFd> {
        let ctl = self.ctl.lock();
        (&*ctl).write_all(b"n")?;
        recv_fd(ctl.as_raw_fd())
    }

    /// Follows what the filter logs (see [`super::connlog`]) into `gate`'s connection list.
    pub fn watch_connections(&mut self, gate: std::sync::Arc<crate::netpolicy::Gatekeeper>) -> Result<(), String> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| "following connections needs Aura's runtime")?;
        let _in_rt = rt.enter();
        let fd = self.netfilter_socket().map_err(|e| format!("cannot open the filter's log: {e}"))?;
        let task = super::connlog::follow(fd, gate)?;
        self.watcher = Some(task);
        Ok(())
    }

    /// TCP ports anything in the namespace listens on (it is the sandbox's alone).
    pub fn listening_ports(&self) -> Vec<u16> {
        crate::preview::ports::all_listening(self.holder as u32)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some((_, task)) = self.proxy.take() {
            task.abort();
        }
        if let Some(task) = self.watcher.take() {
            task.abort();
        }
        if let Some(mut tool) = self.tool.take() {
            let _ = tool.kill();
            let _ = tool.wait();
        }
        // SAFETY: our own child; reaped right after.
        unsafe {
            libc::kill(self.holder, libc::SIGKILL);
            libc::waitpid(self.holder, std::ptr::null_mut(), 0);
        }
    }
}

fn read_log(mut f: std::fs::File) -> String {
    use std::io::Seek;
    let mut s = String::new();
    let _ = f.seek(io::SeekFrom::Start(0));
    let _ = f.read_to_string(&mut s);
    // pasta also complains when there is no syslog; those lines say nothing about the cause.
    s.lines().filter(|l| !l.contains("syslog") && !l.trim().is_empty()).take(5).collect::<Vec<_>>().join("; ")
}

fn has_default_route(pid: libc::pid_t) -> bool {
    let Ok(table) = std::fs::read_to_string(format!("/proc/{pid}/net/route")) else { return false };
    table.lines().skip(1).any(|l| l.split_whitespace().nth(1) == Some("00000000"))
}

/// Receives one status word and, on success, one descriptor.
fn recv_fd(sock: RawFd) -> io::Result<OwnedFd> {
    let mut status = [0u8; 4];
    let mut iov = libc::iovec { iov_base: status.as_mut_ptr().cast(), iov_len: status.len() };
    let mut cmsg = [0u64; 4];
    // SAFETY: msghdr is plain data; every pointer in it refers to live buffers above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cmsg) as _;
    // SAFETY: see above.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n as usize != status.len() {
        return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the sandbox's network holder has exited"));
    }
    let errno = i32::from_ne_bytes(status);
    if errno != 0 {
        return Err(io::Error::from_raw_os_error(errno));
    }
    // SAFETY: CMSG_* walk the control buffer the kernel filled in.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_level != libc::SOL_SOCKET || (*c).cmsg_type != libc::SCM_RIGHTS {
            return Err(io::Error::other("the network holder sent no socket"));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd);
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// The holder: enters a new user + network namespace, brings loopback up, reports, then serves
/// socket requests until the app's end of the pair closes (the app exited or dropped it).
///
/// # Safety
/// Runs in a child forked from a multi-threaded process: only async-signal-safe calls, no
/// allocation, never returns.
unsafe fn holder_main(ctl: RawFd, plan: &HolderPlan) -> ! {
    libc::dup2(ctl, 3);
    let ctl = 3;
    // Hold no other descriptor of the app's (a pipe's write end kept here would never close).
    if libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32) != 0 {
        for fd in 4..4096 {
            libc::close(fd);
        }
    }
    let report = |errno: i32| {
        let b = errno.to_ne_bytes();
        libc::write(ctl, b.as_ptr().cast(), b.len());
    };
    let fail = |errno: i32| -> ! {
        report(errno);
        libc::_exit(1)
    };
    let errno = || *libc::__errno_location();
    if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
        fail(errno());
    }
    for (path, data) in [
        (&plan.setgroups, &b"deny"[..]),
        (&plan.uid_map_path, &plan.uid_map[..]),
        (&plan.gid_map_path, &plan.gid_map[..]),
    ] {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 || libc::write(fd, data.as_ptr().cast(), data.len()) < 0 {
            fail(errno());
        }
        libc::close(fd);
    }
    // Loopback up, so servers inside can bind 127.0.0.1.
    let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    let mut req: libc::ifreq = std::mem::zeroed();
    req.ifr_name[0] = b'l' as libc::c_char;
    req.ifr_name[1] = b'o' as libc::c_char;
    if s < 0 || libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req) != 0 {
        fail(errno());
    }
    req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
    if libc::ioctl(s, libc::SIOCSIFFLAGS, &req) != 0 {
        fail(errno());
    }
    libc::close(s);
    report(0);
    serve(ctl)
}

/// The holder's service: for each request byte on `ctl` — 4 or 6 for a TCP socket, `n` for a
/// netfilter netlink socket — a new socket of this namespace is sent back; ends when the app's
/// end closes.
///
/// # Safety
/// As [`holder_main`]: async-signal-safe calls only, no allocation.
unsafe fn serve(ctl: RawFd) -> ! {
    loop {
        let mut family = 0u8;
        let n = libc::read(ctl, (&mut family as *mut u8).cast(), 1);
        if n == 0 {
            libc::_exit(0);
        }
        if n < 0 {
            if *libc::__errno_location() == libc::EINTR {
                continue;
            }
            libc::_exit(1);
        }
        let flags = libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
        let fd = match family {
            b'n' => libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | flags, libc::NETLINK_NETFILTER),
            6 => libc::socket(libc::AF_INET6, libc::SOCK_STREAM | flags, 0),
            _ => libc::socket(libc::AF_INET, libc::SOCK_STREAM | flags, 0),
        };
        let status: i32 = if fd < 0 { *libc::__errno_location() } else { 0 };
        send_socket(ctl, status, fd);
        if fd >= 0 {
            libc::close(fd);
        }
    }
}

/// Sends `status` on `ctl`, with `fd` attached (SCM_RIGHTS) when it is one.
///
/// # Safety
/// As [`holder_main`]: async-signal-safe calls only, no allocation.
unsafe fn send_socket(ctl: RawFd, status: i32, fd: RawFd) {
    let bytes = status.to_ne_bytes();
    let mut iov = libc::iovec { iov_base: bytes.as_ptr() as *mut _, iov_len: bytes.len() };
    let mut cmsg = [0u64; 4];
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if fd >= 0 {
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd);
    }
    libc::sendmsg(ctl, &msg, libc::MSG_NOSIGNAL);
}

/// The preview proxy dials a sandbox's servers from inside its namespace.
impl crate::preview::proxy::Dialer for Netns {
    fn socket(&self, v6: bool) -> std::io::Result<std::os::fd::OwnedFd> {
        self.tcp_socket(v6)
    }
}

/// The namespace of the newest local sandbox, as a [`Dialer`](crate::preview::proxy::Dialer)
/// that follows it: a preview opened before the sandbox exists works once it does.
#[derive(Default)]
pub struct Following(parking_lot::Mutex<Option<std::sync::Arc<Netns>>>);

impl Following {
    pub(super) fn set(&self, ns: Option<std::sync::Arc<Netns>>) {
        *self.0.lock() = ns;
    }

    pub(super) fn is(&self, ns: &std::sync::Arc<Netns>) -> bool {
        self.0.lock().as_ref().is_some_and(|n| std::sync::Arc::ptr_eq(n, ns))
    }
}

impl crate::preview::proxy::Dialer for Following {
    fn socket(&self, v6: bool) -> std::io::Result<std::os::fd::OwnedFd> {
        let ns = self.0.lock().clone();
        match ns {
            Some(ns) => ns.tcp_socket(v6),
            None => Err(std::io::Error::new(std::io::ErrorKind::NotConnected, "the sandbox is not running yet")),
        }
    }
}
