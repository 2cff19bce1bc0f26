//! The resource catalogue: which calls acquire a resource and which release
//! it. The catalogue is data (`rules/*.toml`), embedded at build time; the
//! TOML schema is exactly these structs, so a typo in a rule file is an error,
//! never a silently ignored key.

use serde::Deserialize;

/// The built-in rule files, embedded in the binary.
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[
    ("rules/stdlib.toml", include_str!("../rules/stdlib.toml")),
    (
        "rules/databases.toml",
        include_str!("../rules/databases.toml"),
    ),
    ("rules/http.toml", include_str!("../rules/http.toml")),
    (
        "rules/messaging.toml",
        include_str!("../rules/messaging.toml"),
    ),
    (
        "rules/concurrency.toml",
        include_str!("../rules/concurrency.toml"),
    ),
    (
        "rules/ownership.toml",
        include_str!("../rules/ownership.toml"),
    ),
    ("rules/remote.toml", include_str!("../rules/remote.toml")),
    ("rules/calls.toml", include_str!("../rules/calls.toml")),
    (
        "rules/programs.toml",
        include_str!("../rules/programs.toml"),
    ),
];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleFile {
    #[serde(default)]
    pub resource: Vec<Resource>,
    #[serde(default)]
    pub ownership: Option<Ownership>,
    #[serde(default)]
    pub calls: Option<Calls>,
    #[serde(default)]
    pub programs: Option<Programs>,
}

/// Code that runs as a program of its own, which ends when it is done (an
/// Ansible module, run in a process of its own on the managed host): an
/// exception leaving one of its functions ends the process, and the
/// operating system takes back what it held. Only paths that complete are
/// leaks there, as in test code, and a value dropped at once is closed by
/// reference counting at once.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Programs {
    /// Glob patterns of such files, matched against the path below the
    /// project root: `**/ansible/modules/**`.
    #[serde(default)]
    pub one_shot: Vec<String>,
    /// Calls that make the process a daemon (`os.setsid`): the function
    /// that calls one runs once, at start; what it still holds when it
    /// returns is the daemon's own (its standard streams, its pidfile lock),
    /// and its failure aborts the start.
    #[serde(default)]
    pub daemonizing: Vec<String>,
}

/// One kind of resource: how it is acquired and how it is released.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Resource {
    /// Stable identifier, e.g. `sqlite3-connection`.
    pub id: String,
    /// Human name for listings and docs: "sqlite3 connection".
    pub name: String,
    /// What the resource is called in messages: "connection", "file".
    pub noun: String,
    /// One sentence for the docs: what this entry matches.
    pub summary: String,
    /// Why a leak of this resource hurts (docs).
    #[serde(default)]
    pub why: Option<String>,
    /// A leaking example (docs).
    #[serde(default)]
    pub example: Option<String>,
    /// The fixed example (docs).
    #[serde(default)]
    pub fix: Option<String>,
    /// Where the library documents the release behaviour this entry encodes.
    #[serde(default)]
    pub reference: Option<String>,
    pub acquire: Acquire,
    pub release: Release,
    /// Whether `with x:` / `async with x:` on the resource (or on the
    /// acquiring call) releases it. `sqlite3` and `psycopg2` connections are
    /// context managers that only end a transaction: `false`.
    #[serde(default)]
    pub with_releases: bool,
    /// Resources that hold nothing until used: a SQLAlchemy `Session`
    /// checks a connection out at its first statement and gives it back at
    /// `commit()`. Only a path on which it is live leaks.
    #[serde(default)]
    pub lazy: Option<Lazy>,
    /// Methods that return the resource itself (`conn.execution_options()`):
    /// the obligation follows the result.
    #[serde(default)]
    pub identity_methods: Vec<String>,
    /// For a resource acquired from another (`from`): it holds that parent,
    /// so handing it over hands the parent over too (a pika channel and its
    /// connection).
    #[serde(default)]
    pub keeps_parent: bool,
    /// For a resource acquired from another (`from`): releasing that parent
    /// releases it too (closing an aiohttp session closes the connections
    /// of its responses), so inside `with parent:` it needs no release of
    /// its own. Not so for an accepted socket (closing the listener leaves
    /// it open) nor a requests response (the session's pool closes only
    /// its idle connections).
    #[serde(default)]
    pub released_with_parent: bool,
    /// An instance of an owner class whose `__del__` releases it: dropped
    /// on a path that completes, it gives its resources back at once;
    /// an exception's traceback keeps it alive. Not a catalogue setting.
    #[serde(skip)]
    pub released_when_dropped: bool,
    /// What is taken from it by subscript or attribute holds it (a MongoDB
    /// client's `client[name]` or `client.name` is a database that keeps
    /// the client): storing or returning that part keeps the resource.
    #[serde(default)]
    pub kept_by_parts: bool,
    /// Methods whose result takes the resource along (`client.get_database()`,
    /// a database that keeps the client; `resp.iter_content()`, a generator
    /// over the body): returning or storing it hands the resource over, as
    /// `client[name]` does.
    #[serde(default)]
    pub part_methods: Vec<String>,
    /// Classes an `isinstance()` test finds its value to be, besides its
    /// acquiring calls: `int` for a descriptor. The other branch of such a
    /// test holds something else (`opened` is the error a helper returned).
    #[serde(default)]
    pub instance_of: Vec<String>,
    /// Test fixtures (a parameter's name) and decorators under which every
    /// use of it is answered in memory, so that it holds nothing:
    /// `requests_mock`, `responses.activate`.
    #[serde(default)]
    pub mocked_by: Vec<String>,
}

/// When a lazy resource holds something.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lazy {
    /// Methods (or attributes) that make it hold the resource: `execute`.
    #[serde(default)]
    pub live: Vec<String>,
    /// Methods that give the resource back while the object stays usable:
    /// `commit`, `rollback`.
    #[serde(default)]
    pub idle: Vec<String>,
    /// Methods that make it live only when they return: `start` (a process
    /// whose start failed holds nothing).
    #[serde(default)]
    pub started_by: Vec<String>,
}

/// An argument that makes a matching call acquire nothing.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Unless {
    /// The keyword argument looked at: `transport`.
    #[serde(default)]
    pub keyword: Option<String>,
    /// The positional argument looked at (0-based), when not given by keyword.
    #[serde(default)]
    pub position: Option<usize>,
    /// The argument is a call to one of these, or a name bound to one.
    #[serde(default)]
    pub made_by: Vec<String>,
    /// The argument holds one of these resources (by id).
    #[serde(default)]
    pub resources: Vec<String>,
    /// The argument is a plain name (or attribute) ending in one of these.
    #[serde(default)]
    pub names: Vec<String>,
    /// The argument is written exactly as one of these: `True`.
    #[serde(default)]
    pub values: Vec<String>,
    /// The argument is given at all, whatever it is: `fileobj=` makes a
    /// tar archive over a file it does not own.
    #[serde(default)]
    pub any: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Acquire {
    /// Qualified callables, resolved through the file's imports:
    /// `psycopg2.connect` matches `pg.connect()` after `import psycopg2 as pg`.
    #[serde(default)]
    pub calls: Vec<String>,
    /// Method names that acquire: `acquire` matches `db_pool.acquire()`.
    #[serde(default)]
    pub methods: Vec<String>,
    /// For `methods`: ids of resources the receiver must come from
    /// (`pool.getconn()` where `pool = ThreadedConnectionPool(...)`). Empty:
    /// any receiver whose origin is not known to be something else.
    #[serde(default)]
    pub from: Vec<String>,
    /// For `methods`: qualified constructors the receiver must come from,
    /// for receivers that are not resources themselves (`threading.Lock`,
    /// `psycopg2.pool.ThreadedConnectionPool`).
    #[serde(default)]
    pub from_calls: Vec<String>,
    /// For `methods`: the receiver's last name, leading underscores aside,
    /// must be one of these: `terminals` matches `self._terminals.checkout()`
    /// and `terminals.checkout()`, not `cart.checkout()`.
    #[serde(default)]
    pub receivers: Vec<String>,
    /// Qualified factory makers: calling a name that one of them returned
    /// acquires (`SessionLocal = sessionmaker(...)`, then `SessionLocal()`).
    #[serde(default)]
    pub factories: Vec<String>,
    /// Keyword arguments that must be present, as written: `stream=True`
    /// (`requests.get(url, stream=True)` holds the connection until closed).
    #[serde(default)]
    pub requires: Vec<String>,
    /// Keyword arguments that say whether the object owns what it wraps:
    /// given as a name (`os.fdopen(fd, closefd=owned)`), it holds the
    /// resource only on the paths where that name is true.
    #[serde(default)]
    pub held_while: Vec<String>,
    /// When the call returns a tuple: the position of the resource in it
    /// (`fd, path = tempfile.mkstemp()` is element 0).
    #[serde(default)]
    pub element: Option<usize>,
    /// When the call returns a tuple of resources, each to release on its
    /// own: their positions (`r, w = os.pipe()` is `[0, 1]`).
    #[serde(default)]
    pub elements: Vec<usize>,
    /// With `element`: another element of the tuple that holds the resource
    /// too (`transport, protocol = await loop.create_connection(...)`: the
    /// protocol keeps its transport). Handing that one over hands the
    /// resource over; binding the resource to `_` leaves it to that one.
    #[serde(default)]
    pub held_by_element: Option<usize>,
    /// `value`: the returned object must be released. `receiver`: the call
    /// puts the obligation on its receiver (`lock.acquire()` / `lock.release()`).
    #[serde(default)]
    pub obligation: Obligation,
    /// For `receiver` obligations: substrings of the receiver's name that mark
    /// it as lock-like (`self._lock`, `write_sem`). A receiver-style acquire
    /// is also recognised when the same receiver is released in the function.
    #[serde(default)]
    pub receiver_hints: Vec<String>,
    /// Arguments that make the call acquire nothing: an `httpx.Client` with
    /// `transport=httpx.MockTransport(...)` holds no socket.
    #[serde(default)]
    pub unless: Vec<Unless>,
    /// Given (even empty), a result dropped where it is made is a deliberate
    /// launch with nothing to release (`subprocess.Popen(cmd)` as a
    /// statement, or `Popen(cmd).pid`), unless one of these arguments
    /// matches: a pipe (`stdout=PIPE`) the dropped object would keep open.
    #[serde(default)]
    pub launch_unless: Option<Vec<Unless>>,
    /// The call acquires only when awaited: `session.get(url)` without
    /// `await` returns a request that holds nothing until awaited.
    #[serde(default)]
    pub requires_await: bool,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Obligation {
    #[default]
    Value,
    Receiver,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Release {
    /// Methods called on the resource: `conn.close()`.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Methods on any receiver that take the resource as an argument:
    /// `pool.putconn(conn)`, `db_pool.release(conn)`.
    #[serde(default)]
    pub receiver_methods: Vec<String>,
    /// Qualified functions that take the resource as an argument: `os.close(fd)`.
    #[serde(default)]
    pub functions: Vec<String>,
    /// Whether the release is a coroutine that must be awaited.
    #[serde(default)]
    pub awaited: Awaited,
    /// Releases among the above that read the resource to its end and
    /// release nothing when the read fails half-way (`read()` of a urllib
    /// response that times out), written as they are above.
    #[serde(default)]
    pub unless_they_fail: Vec<String>,
    /// Attributes whose reading reads the resource to its end and so
    /// releases it: a streamed requests response's `.content` or `.text`
    /// (urllib3 gives the connection back once the body is read, and closes
    /// it when the read fails).
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Methods whose result, iterated by a `for` loop to its end, reads
    /// the resource to its end and so releases it: a streamed requests
    /// response's `iter_content()` (a loop left early by `break` or
    /// `return` releases nothing).
    #[serde(default)]
    pub exhausted_by: Vec<String>,
    /// Methods whose result, read in a loop that stops when it comes back
    /// empty (`chunk = resp.read(8192)` then `if not chunk: break`), reads
    /// the resource to its end and so releases it: a urllib response.
    #[serde(default)]
    pub read_until_empty: Vec<String>,
    /// Methods on the resource that release it when they raise, and only
    /// then: aiohttp's `resp.raise_for_status()` releases the response
    /// before raising on an error status.
    #[serde(default)]
    pub when_they_fail: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Awaited {
    #[default]
    Never,
    Always,
    /// Awaited exactly when the acquisition was: `await pool.acquire()` pairs
    /// with `await pool.release(conn)`, a sync pool with a sync release.
    LikeAcquire,
}

/// Calls that take ownership of a resource passed to them, so the function
/// that acquired it no longer has to release it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Ownership {
    /// Qualified functions: `contextlib.closing`.
    #[serde(default)]
    pub functions: Vec<String>,
    /// Method names on any receiver: `enter_context`, `callback`.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Keyword arguments that hand the resource over, whatever the call:
    /// `loop.create_server(sock=sock)`.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// Functions (qualified, through imports) and methods (any receiver; a
/// trailing `*` matches a prefix: `assert*`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CallList {
    #[serde(default)]
    pub functions: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
}

impl CallList {
    fn extend(&mut self, other: CallList) {
        self.functions.extend(other.functions);
        self.methods.extend(other.methods);
    }

    /// `*Stub` matches any callable whose last name ends with `Stub`.
    pub fn has_function(&self, qualified: &str) -> bool {
        self.functions.iter().any(|f| match f.strip_prefix('*') {
            Some(suffix) => qualified
                .rsplit('.')
                .next()
                .is_some_and(|last| last.ends_with(suffix)),
            None => f == qualified,
        })
    }

    pub fn has_method(&self, method: &str) -> bool {
        self.methods.iter().any(|m| match m.strip_suffix('*') {
            Some(prefix) => method.starts_with(prefix),
            None => m == method,
        })
    }
}

/// Calls that raise only `OSError` (and its subclasses): an `except OSError:`
/// that releases covers them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OsErrorCalls {
    #[serde(default)]
    pub functions: Vec<String>,
    /// Methods that raise only `OSError` when called on one of `receivers`.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Resource ids whose `methods` raise only `OSError`: `socket`.
    #[serde(default)]
    pub receivers: Vec<String>,
    /// Methods that raise only `OSError` whatever the receiver:
    /// `loop.sock_connect()`.
    #[serde(default)]
    pub any_receiver_methods: Vec<String>,
}

/// Methods that behave some way only on the resources named in `receivers`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReceiverCalls {
    #[serde(default)]
    pub methods: Vec<String>,
    /// Resource ids: `socket`.
    #[serde(default)]
    pub receivers: Vec<String>,
    /// Letters the mode the receiver was opened with must contain, written
    /// out in the call that made it: `b` for `open(path, "rb")`.
    #[serde(default)]
    pub mode: Option<String>,
}

/// A table, or an array of tables (`[[calls.never-raise-on]]`), as a list.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(all) => all,
        OneOrMany::One(one) => vec![one],
    })
}

impl ReceiverCalls {
    /// Whether `method` on a receiver holding `receiver_resource` is in the
    /// group (a group that asks for a mode never is: see `has_in_mode`).
    pub fn has(&self, method: &str, receiver_resource: Option<&str>) -> bool {
        self.mode.is_none() && self.listed(method, receiver_resource)
    }

    /// The same, for a receiver opened with `mode` as written (`"rb"`).
    pub fn has_in_mode(
        &self,
        method: &str,
        receiver_resource: Option<&str>,
        mode: Option<&str>,
    ) -> bool {
        let mode_fits = match (&self.mode, mode) {
            (None, _) => true,
            (Some(wanted), Some(mode)) => wanted.chars().all(|c| mode.contains(c)),
            (Some(_), None) => false,
        };
        mode_fits && self.listed(method, receiver_resource)
    }

    fn listed(&self, method: &str, receiver_resource: Option<&str>) -> bool {
        self.methods.iter().any(|m| m == method)
            && receiver_resource.is_some_and(|id| self.receivers.iter().any(|r| r == id))
    }
}

/// How ordinary calls behave, where it matters to a leaking path.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Calls {
    /// Calls that do not raise in practice: `range()`, `os.path.join()`,
    /// `sock.settimeout()`, logging, test assertions.
    #[serde(default)]
    pub never_raise: CallList,
    /// Methods that do not raise on some resources: a socket's `close()`
    /// (a file's may, flushing its buffer).
    /// Groups of them, each with its own methods and resources.
    #[serde(default, deserialize_with = "one_or_many")]
    pub never_raise_on: Vec<ReceiverCalls>,
    /// Methods that fail only on a stale argument (a closed or already
    /// registered descriptor): given a value the function itself just made,
    /// on these resources, they do not raise (`sel.register(p.stdout)` after
    /// `p = Popen(...)`). Groups of them, each with its own methods and
    /// resources.
    #[serde(default, deserialize_with = "one_or_many")]
    pub never_raise_on_fresh: Vec<ReceiverCalls>,
    /// Functions that fail only on a value from elsewhere, each with the
    /// callables that make a value it cannot fail on: given one the function
    /// itself just made with them, they do not raise
    /// (`"os.chmod" = ["tempfile.mkstemp"]`).
    #[serde(default)]
    pub never_raise_given: std::collections::BTreeMap<String, Vec<String>>,
    /// Methods that do not raise on an object one of these callables made
    /// (not awaited): a blocking `acquire()` on a `threading.Lock`,
    /// `start()` on a `threading.Thread` (`"acquire" = ["threading.Lock"]`).
    #[serde(default)]
    pub never_raise_made_by: std::collections::BTreeMap<String, Vec<String>>,
    /// Methods of a lock that do not raise while the function holds it:
    /// `cond.wait()` after `cond.acquire()` (they fail only on a lock not
    /// held).
    #[serde(default)]
    pub never_raise_while_held: Methods,
    /// Calls after which no leak matters: the process ends (`sys.exit()`)
    /// or the test stops (`pytest.fail()`).
    #[serde(default)]
    pub ends: CallList,
    #[serde(default)]
    pub os_error: OsErrorCalls,
    /// Calls that await or schedule a coroutine passed to them:
    /// `asyncio.wait_for(pool.release(conn), 1)` releases.
    #[serde(default)]
    pub awaiting: CallList,
    /// Of those, the ones that run the coroutine later, or hand back its
    /// failure instead of raising it (`asyncio.create_task`,
    /// `asyncio.wait`): what the coroutine raises does not surface there.
    #[serde(default)]
    pub scheduling: CallList,
    /// Calls that only use a resource passed to them and keep nothing:
    /// `json.load(open(p))` leaks the file.
    #[serde(default)]
    pub borrowing: CallList,
    /// Calls that return their (last positional) argument: `typing.cast`.
    #[serde(default)]
    pub identity: CallList,
    /// Callables whose objects hold nothing to give back, though they have
    /// a release-like method: `psutil.Process(pid)` names a process that
    /// exists, and its `terminate()` ends that process. What they make is
    /// never learnt as a resource.
    #[serde(default)]
    pub holding_nothing: CallList,
    /// Keyword arguments whose values (by their last name) make an object
    /// that holds nothing, whatever the call: `poolclass = ["NullPool"]`
    /// (an engine that pools no connection). What such a call makes is
    /// never learnt as a resource.
    #[serde(default)]
    pub holding_nothing_given: std::collections::BTreeMap<String, Vec<String>>,
    /// Functions known to raise only one class of exception, by class name:
    /// `"ssl.match_hostname" = "CertificateError"`.
    #[serde(default)]
    pub raise_classes: std::collections::BTreeMap<String, String>,
    /// Exception classes only some calls raise, by class name, with those
    /// calls (qualified functions, or `.method` for a method on any
    /// receiver): `"HTTPError" = ["urllib.request.urlopen", ".open"]`. A
    /// handler naming only such classes, around one of those calls,
    /// catches nothing the other calls of its `try` raise.
    #[serde(default)]
    pub raised_only_by: std::collections::BTreeMap<String, Vec<String>>,
    /// Exception classes that report a wrong argument or a bug
    /// (`ValueError`, `TypeError`): a `raise` of one is a less likely way
    /// out than a call that does I/O on the resource.
    #[serde(default)]
    pub misuse_exceptions: ExceptionClasses,
    /// Functions that fail only when asked not to wait, by the name of the
    /// flag that asks it: `"fcntl.flock" = "LOCK_NB"` (a blocking lock
    /// waits; it does not fail).
    #[serde(default)]
    pub raise_only_with: std::collections::BTreeMap<String, String>,
}

/// Methods, by name.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Methods {
    #[serde(default)]
    pub methods: Vec<String>,
}

/// Exception classes, by name.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExceptionClasses {
    #[serde(default)]
    pub classes: Vec<String>,
}

impl Calls {
    /// The classes of `raised-only-by` that a call of `resolved` (its
    /// qualified name, when it has one) or of the method `method` raises.
    pub fn only_raised_by<'c>(
        &'c self,
        resolved: Option<&'c str>,
        method: Option<&'c str>,
    ) -> impl Iterator<Item = &'c str> + 'c {
        self.raised_only_by
            .iter()
            .filter(move |(_, raisers)| {
                raisers.iter().any(|r| match r.strip_prefix('.') {
                    Some(m) => method == Some(m),
                    None => resolved == Some(r.as_str()),
                })
            })
            .map(|(class, _)| class.as_str())
    }

    fn extend(&mut self, other: Calls) {
        self.never_raise.extend(other.never_raise);
        self.never_raise_on.extend(other.never_raise_on);
        self.never_raise_on_fresh.extend(other.never_raise_on_fresh);
        self.ends.extend(other.ends);
        self.os_error.functions.extend(other.os_error.functions);
        self.os_error.methods.extend(other.os_error.methods);
        self.os_error.receivers.extend(other.os_error.receivers);
        self.os_error
            .any_receiver_methods
            .extend(other.os_error.any_receiver_methods);
        self.awaiting.extend(other.awaiting);
        self.scheduling.extend(other.scheduling);
        self.borrowing.extend(other.borrowing);
        self.identity.extend(other.identity);
        self.holding_nothing.extend(other.holding_nothing);
        for (keyword, values) in other.holding_nothing_given {
            self.holding_nothing_given
                .entry(keyword)
                .or_default()
                .extend(values);
        }
        self.raise_classes.extend(other.raise_classes);
        for (class, raisers) in other.raised_only_by {
            self.raised_only_by
                .entry(class)
                .or_default()
                .extend(raisers);
        }
        self.misuse_exceptions
            .classes
            .extend(other.misuse_exceptions.classes);
        self.raise_only_with.extend(other.raise_only_with);
        for (function, makers) in other.never_raise_given {
            self.never_raise_given
                .entry(function)
                .or_default()
                .extend(makers);
        }
        self.never_raise_while_held
            .methods
            .extend(other.never_raise_while_held.methods);
        for (method, makers) in other.never_raise_made_by {
            self.never_raise_made_by
                .entry(method)
                .or_default()
                .extend(makers);
        }
    }
}

/// Everything the analysis knows about resources.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub resources: Vec<Resource>,
    pub ownership: Ownership,
    pub calls: Calls,
    pub programs: Programs,
    /// `programs.one_shot`, compiled on first use.
    one_shot: std::sync::OnceLock<globset::GlobSet>,
}

#[derive(Debug)]
pub struct RuleError {
    pub file: String,
    pub message: String,
    /// The offending string as written, so a config file can point at it.
    pub needle: Option<String>,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for RuleError {}

impl Catalogue {
    /// The catalogue compiled into the binary.
    pub fn builtin() -> Catalogue {
        Catalogue::from_files(BUILTIN_RULE_FILES).expect("built-in rules are validated by tests")
    }

    pub fn from_files(files: &[(&str, &str)]) -> Result<Catalogue, RuleError> {
        let mut catalogue = Catalogue::default();
        for (name, text) in files {
            let parsed: RuleFile = toml::from_str(text).map_err(|e| RuleError {
                file: name.to_string(),
                message: e.to_string(),
                needle: None,
            })?;
            catalogue.add(
                parsed.resource,
                parsed.ownership.unwrap_or_default(),
                parsed.calls.unwrap_or_default(),
            );
            catalogue.add_programs(parsed.programs.unwrap_or_default());
        }
        catalogue.validate()?;
        Ok(catalogue)
    }

    /// Adds entries (from a user's configuration); call `validate` after.
    pub fn add(&mut self, resources: Vec<Resource>, ownership: Ownership, calls: Calls) {
        self.resources.extend(resources);
        self.ownership.functions.extend(ownership.functions);
        self.ownership.methods.extend(ownership.methods);
        self.ownership.keywords.extend(ownership.keywords);
        self.calls.extend(calls);
    }

    /// Adds patterns of one-shot programs (from a user's configuration).
    pub fn add_programs(&mut self, programs: Programs) {
        self.programs.one_shot.extend(programs.one_shot);
        self.programs.daemonizing.extend(programs.daemonizing);
        self.one_shot = std::sync::OnceLock::new();
    }

    /// Whether the file at `relative` (below the project root) runs as a
    /// one-shot program (see `Programs`).
    pub fn runs_as_one_shot(&self, relative: &std::path::Path) -> bool {
        self.one_shot
            .get_or_init(|| {
                let mut builder = globset::GlobSetBuilder::new();
                for pattern in &self.programs.one_shot {
                    if let Ok(glob) = globset::Glob::new(pattern) {
                        builder.add(glob);
                    }
                }
                builder
                    .build()
                    .unwrap_or_else(|_| globset::GlobSet::empty())
            })
            .is_match(relative)
    }

    /// Checks every entry: unique ids, patterns that can match, `from`
    /// references that exist.
    pub fn validate(&self) -> Result<(), RuleError> {
        self.validate_entries()?;
        self.validate_references()?;
        for pattern in &self.programs.one_shot {
            if let Err(e) = globset::Glob::new(pattern) {
                return Err(RuleError {
                    file: "[programs]".into(),
                    message: format!("bad glob pattern `{pattern}`: {}", e.kind()),
                    needle: Some(pattern.clone()),
                });
            }
        }
        Ok(())
    }

    fn validate_entries(&self) -> Result<(), RuleError> {
        let mut seen = std::collections::HashSet::new();
        for r in &self.resources {
            let fail_at = |message: String, needle: &str| RuleError {
                file: format!("resource `{}`", r.id),
                message,
                needle: Some(needle.to_string()),
            };
            let fail = |message: String| fail_at(message, &r.id);
            // What messages quote must not forge a line of a report or
            // drive a terminal: no control characters on one-line fields,
            // only newlines and tabs in the documentation ones.
            let one_line = [
                ("id", &r.id),
                ("name", &r.name),
                ("noun", &r.noun),
                ("summary", &r.summary),
            ];
            for (field, value) in one_line {
                if value.chars().any(char::is_control) {
                    return Err(fail(format!(
                        "`{field}` holds a control character (a newline, an escape)"
                    )));
                }
            }
            let multi_line = [
                ("why", &r.why),
                ("example", &r.example),
                ("fix", &r.fix),
                ("reference", &r.reference),
            ];
            for (field, value) in multi_line {
                if value
                    .as_deref()
                    .is_some_and(|v| v.chars().any(|c| c.is_control() && c != '\n' && c != '\t'))
                {
                    return Err(fail(format!(
                        "`{field}` holds a control character other than a newline"
                    )));
                }
            }
            if !seen.insert(r.id.as_str()) {
                return Err(fail("duplicate id".into()));
            }
            for pattern in r
                .acquire
                .calls
                .iter()
                .chain(&r.release.functions)
                .chain(&r.acquire.from_calls)
                .chain(&r.acquire.factories)
                .chain(r.acquire.unless.iter().flat_map(|u| &u.made_by))
            {
                if !is_dotted_name(pattern) {
                    return Err(fail_at(
                        format!(
                            "`{pattern}` cannot match any call: write a dotted name such as `payments.db.connect`"
                        ),
                        pattern,
                    ));
                }
            }
            // `read()`: a release only when called without arguments;
            // `transport.close`: a method on one of its attributes.
            let release_methods = r.release.methods.iter().map(|m| {
                let m = m.strip_suffix("()").unwrap_or(m);
                m.split_once('.')
                    .filter(|(attr, _)| is_identifier(attr))
                    .map_or(m, |(_, method)| method)
            });
            for method in r
                .acquire
                .methods
                .iter()
                .chain(&r.release.receiver_methods)
                .chain(&r.identity_methods)
                .chain(r.lazy.iter().flat_map(|l| l.live.iter().chain(&l.idle)))
                .map(String::as_str)
                .chain(release_methods)
            {
                if !is_identifier(method) {
                    return Err(fail_at(
                        format!(
                            "`{method}` cannot match any method: write the bare method name, such as `acquire`"
                        ),
                        method,
                    ));
                }
            }
            for name in &r.acquire.receivers {
                if !is_identifier(name) {
                    return Err(fail_at(
                        format!(
                            "`{name}` cannot name a receiver: write its last name, such as `pool`"
                        ),
                        name,
                    ));
                }
            }
            for req in &r.acquire.requires {
                let ok = req
                    .split_once('=')
                    .is_some_and(|(k, v)| is_identifier(k.trim()) && !v.trim().is_empty());
                if !ok {
                    return Err(fail_at(
                        format!("`{req}` is not a keyword argument such as `stream=True`"),
                        req,
                    ));
                }
            }
            for unless in r
                .acquire
                .unless
                .iter()
                .chain(r.acquire.launch_unless.iter().flatten())
            {
                if unless.keyword.is_none() && unless.position.is_none() {
                    return Err(fail(
                        "an `unless` entry names neither a `keyword` nor a `position`".into(),
                    ));
                }
            }
            if r.acquire.calls.is_empty()
                && r.acquire.methods.is_empty()
                && r.acquire.factories.is_empty()
            {
                return Err(fail("`acquire` names no call and no method".into()));
            }
            let rel = &r.release;
            if rel.methods.is_empty() && rel.receiver_methods.is_empty() && rel.functions.is_empty()
            {
                return Err(fail("`release` names no way to release".into()));
            }
            if let Some(stray) = rel
                .unless_they_fail
                .iter()
                .find(|u| !rel.methods.contains(u) && !rel.functions.contains(u))
            {
                return Err(fail(format!(
                    "`unless-they-fail` names `{stray}`, which is not one of this entry's release methods or functions"
                )));
            }
            if r.acquire.obligation == Obligation::Receiver && rel.methods.is_empty() {
                return Err(fail(
                    "a receiver obligation is released by a method on the receiver: set `release.methods`"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// Checks `from` references, which may point to entries in other files.
    pub fn validate_references(&self) -> Result<(), RuleError> {
        self.validate_calls()?;
        for r in &self.resources {
            let unless_ids = r.acquire.unless.iter().flat_map(|u| &u.resources);
            for origin in r.acquire.from.iter().chain(unless_ids) {
                if self.get(origin).is_none() {
                    return Err(RuleError {
                        file: format!("resource `{}`", r.id),
                        message: format!("`from` names `{origin}`, which is not a resource id"),
                        needle: Some(origin.clone()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks `[calls]` and `[ownership]`: dotted functions, method names
    /// (a trailing `*` allowed), resource ids that exist.
    fn validate_calls(&self) -> Result<(), RuleError> {
        let c = &self.calls;
        let fail = |message: String, needle: &str| RuleError {
            file: "[calls]".into(),
            message,
            needle: Some(needle.to_string()),
        };
        let lists = [
            &c.never_raise,
            &c.ends,
            &c.awaiting,
            &c.scheduling,
            &c.borrowing,
            &c.identity,
            &c.holding_nothing,
        ];
        let functions = lists
            .iter()
            .flat_map(|l| &l.functions)
            .chain(&c.os_error.functions)
            .chain(&self.ownership.functions)
            .chain(c.never_raise_given.keys())
            .chain(c.never_raise_given.values().flatten())
            .chain(c.never_raise_made_by.values().flatten())
            .chain(&self.programs.daemonizing);
        for f in functions {
            // `*Stub`: any callable whose last name ends with `Stub`.
            let name = f.strip_prefix('*').unwrap_or(f);
            if !is_dotted_name(name) {
                return Err(fail(
                    format!(
                        "`{f}` cannot match any call: write a dotted name such as `json.load`, or `*Suffix`"
                    ),
                    f,
                ));
            }
        }
        let methods = lists
            .iter()
            .flat_map(|l| &l.methods)
            .chain(&c.os_error.methods)
            .chain(&c.os_error.any_receiver_methods)
            .chain(c.never_raise_on.iter().flat_map(|g| &g.methods))
            .chain(c.never_raise_on_fresh.iter().flat_map(|g| &g.methods))
            .chain(c.never_raise_made_by.keys())
            .chain(&c.never_raise_while_held.methods)
            .chain(&self.ownership.methods)
            .chain(&self.ownership.keywords);
        for m in methods {
            if !is_identifier(m.strip_suffix('*').unwrap_or(m)) {
                return Err(fail(
                    format!(
                        "`{m}` cannot match any method: write a bare name such as `close`, or a prefix such as `assert*`"
                    ),
                    m,
                ));
            }
        }
        for id in c
            .os_error
            .receivers
            .iter()
            .chain(c.never_raise_on.iter().flat_map(|g| &g.receivers))
            .chain(c.never_raise_on_fresh.iter().flat_map(|g| &g.receivers))
        {
            if self.get(id).is_none() {
                return Err(fail(format!("`{id}` is not a resource id"), id));
            }
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

pub fn is_dotted_name(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_loads() {
        let c = Catalogue::from_files(BUILTIN_RULE_FILES).unwrap();
        assert!(c.resources.len() >= 10);
        assert!(
            c.ownership
                .functions
                .iter()
                .any(|f| f == "contextlib.closing")
        );
    }

    #[test]
    fn every_rule_file_on_disk_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let name = format!("rules/{}", path.file_name().unwrap().to_string_lossy());
                if name == "rules/codes.toml" {
                    continue; // code documentation, embedded by `codes.rs`
                }
                assert!(
                    BUILTIN_RULE_FILES.iter().any(|(n, _)| *n == name),
                    "{name} is not listed in BUILTIN_RULE_FILES"
                );
            }
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let bad = "[[resource]]\nid='x'\nnoun='x'\nsummary='x'\nacquire={calls=['a']}\nrelease={methods=['close']}\nwith-release=true\n";
        let err = Catalogue::from_files(&[("bad.toml", bad)]).unwrap_err();
        assert!(err.message.contains("unknown field"), "{err}");
    }

    #[test]
    fn releases_that_may_fail_are_releases_of_the_entry() {
        let entry = |unless: &str| {
            format!(
                "[[resource]]\nid='x'\nname='x'\nnoun='x'\nsummary='x'\nacquire={{calls=['a']}}\nrelease={{methods=['close', 'read()'], unless-they-fail=[{unless}]}}\n"
            )
        };
        let ok = Catalogue::from_files(&[("ok.toml", &entry("'read()'"))]);
        assert!(ok.is_ok(), "{:?}", ok.err().map(|e| e.message));
        let err = Catalogue::from_files(&[("bad.toml", &entry("'read'"))]).unwrap_err();
        assert!(err.message.contains("unless-they-fail"), "{err}");
    }
}
