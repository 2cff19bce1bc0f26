//! What a call may raise, from the catalogue's `[calls]` tables: whether a
//! path through it as an exception is one worth reporting.

use crate::cfg::Raises;
use crate::facts::CallFact;
use crate::rules::Calls;

/// What `call` may raise. `receiver_resource` is the catalogue id of the
/// resource the receiver holds, when known (`sock.connect()` on a socket
/// raises only `OSError`).
pub fn classify(call: &CallFact, calls: &Calls, receiver_resource: Option<&str>) -> Raises {
    let resolved = call.resolved.as_deref();
    let method = call.method.as_deref();
    let in_list = |list: &crate::rules::CallList| {
        resolved.is_some_and(|r| list.has_function(r)) || method.is_some_and(|m| list.has_method(m))
    };
    if in_list(&calls.ends) {
        return Raises::Ends;
    }
    let os = &calls.os_error;
    let os_function = resolved.is_some_and(|r| os.functions.iter().any(|f| f == r));
    let os_method = method.is_some_and(|m| {
        os.any_receiver_methods.iter().any(|x| x == m)
            || (os.methods.iter().any(|x| x == m)
                && receiver_resource.is_some_and(|id| os.receivers.iter().any(|r| r == id)))
    });
    if os_function || os_method {
        return Raises::OsError;
    }
    // An awaited call may raise whatever the coroutine raises (cancellation,
    // which every `await` may bring, is an edge of its own).
    if call.awaited && !in_list(&calls.never_raise) {
        return Raises::Any;
    }
    // Making an object (`Reader(f)`, `cls(sock)`) stores what it is given;
    // a constructor that fails is not how resources leak in practice.
    // `d.pop(key, default)` cannot raise (`d.pop(key)` can).
    let pop_with_default = method == Some("pop") && crate::syntax::argument_count(call.node) == 2;
    if call.constructor
        || pop_with_default
        || in_list(&calls.never_raise)
        || call.on_logger()
        || method.is_some_and(|m| calls.never_raise_on.has(m, receiver_resource))
    {
        return Raises::Never;
    }
    Raises::Any
}
