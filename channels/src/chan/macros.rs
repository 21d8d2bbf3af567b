//! `select!` and `select_blocking!`.
//!
//! The macros parse the arms one at a time (a "tt muncher"). Each step
//! names a fresh output slot `__out`; macro hygiene makes every step's
//! `__out` a distinct variable, which the final step declares, lends to the
//! arm constructors and then inspects: exactly one slot is `Some` after the
//! select unless `default` ran.

/// Go's `select` for async code: waits until one arm can proceed, performs
/// exactly that one operation, and runs its body.
///
/// ```
/// # goro_channels::chan::__private::block_on(async {
/// use goro_channels::{chan, select};
/// let (tx, rx) = chan::bounded::<i32>(1);
/// let (tx2, rx2) = chan::bounded::<&str>(1);
/// tx.try_send(1).unwrap();
/// let got = select! {
///     recv(rx) -> v => v.map(|n| n * 10),
///     recv(rx2) -> s => s.map(|s| s.len() as i32),
///     send(tx2, "full") -> res => { res.unwrap(); None }
///     recv(chan::never::<i32>()) -> _v => unreachable!(),
/// };
/// // Either the receive of 1 or the send into rx2's free slot ran.
/// assert!(got == Some(10) || got.is_none());
/// # });
/// ```
///
/// Arms, in any order and number (at most 64):
///
/// * `recv(rx) -> v => body`: `v: Option<T>`, `None` when `rx` is closed and
///   drained. `recv(chan::never::<T>())` is never chosen.
/// * `send(tx, value) -> res => body`: `res: Result<(), SendError<T>>`. An
///   arm that is not chosen never delivers its value (it is dropped).
/// * `pat = future => body`: any `IntoFuture`; `pat` must be irrefutable.
/// * `default => body`: runs when no other arm can proceed right now.
///
/// When several arms are ready, one is chosen uniformly at random. Channel
/// expressions are borrowed (`recv(rx)` borrows `rx`) for the duration.
#[macro_export]
macro_rules! select {
    ($($arms:tt)*) => {
        $crate::__goro_select!(@parse (async) [] [] $($arms)*)
    };
}

/// [`select!`] for plain threads: parks the thread instead of awaiting.
#[macro_export]
macro_rules! select_blocking {
    ($($arms:tt)*) => {
        $crate::__goro_select!(@parse (blocking) [] [] $($arms)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __goro_select {
    // ---- parsing, one arm per step; `$arms` collects
    //      { out-slot (arm constructor) (pattern) (body) } ----
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)*] , $($rest:tt)*) => {
        $crate::__goro_select!(@parse $mode [$($arms)*] [$($def)*] $($rest)*)
    };
    (@parse $mode:tt [$($arms:tt)*] [] default => $body:block $($rest:tt)*) => {
        $crate::__goro_select!(@parse $mode [$($arms)*] [$body] $($rest)*)
    };
    (@parse $mode:tt [$($arms:tt)*] [] default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__goro_select!(@parse $mode [$($arms)*] [$body] $($($rest)*)?)
    };
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)+] default => $($rest:tt)*) => {
        ::core::compile_error!("select!: more than one `default` arm")
    };
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)*]
        recv($rx:expr) -> $v:pat => $body:block $($rest:tt)*) => {
        $crate::__goro_select!(@parse $mode [$($arms)* { __out
            ($crate::chan::__private::recv_arm(&$rx, &mut __out)) ($v) ($body) }]
            [$($def)*] $($rest)*)
    };
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)*]
        recv($rx:expr) -> $v:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__goro_select!(@parse $mode [$($arms)* { __out
            ($crate::chan::__private::recv_arm(&$rx, &mut __out)) ($v) ($body) }]
            [$($def)*] $($($rest)*)?)
    };
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)*]
        send($tx:expr, $value:expr) -> $r:pat => $body:block $($rest:tt)*) => {
        $crate::__goro_select!(@parse $mode [$($arms)* { __out
            ($crate::chan::__private::send_arm(&$tx, $value, &mut __out)) ($r) ($body) }]
            [$($def)*] $($rest)*)
    };
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)*]
        send($tx:expr, $value:expr) -> $r:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__goro_select!(@parse $mode [$($arms)* { __out
            ($crate::chan::__private::send_arm(&$tx, $value, &mut __out)) ($r) ($body) }]
            [$($def)*] $($($rest)*)?)
    };
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)*]
        $p:pat = $fut:expr => $body:block $($rest:tt)*) => {
        $crate::__goro_select!(@parse $mode [$($arms)* { __out
            ($crate::chan::__private::fut_arm($fut, &mut __out)) ($p) ($body) }]
            [$($def)*] $($rest)*)
    };
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)*]
        $p:pat = $fut:expr => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__goro_select!(@parse $mode [$($arms)* { __out
            ($crate::chan::__private::fut_arm($fut, &mut __out)) ($p) ($body) }]
            [$($def)*] $($($rest)*)?)
    };
    // ---- everything parsed ----
    (@parse $mode:tt [$({ $out:ident ($arm:expr) ($p:pat) ($body:expr) })*] [$($def:tt)*]) => {{
        $( let mut $out = ::core::option::Option::None; )*
        $crate::__goro_select!(@run $mode
            $crate::chan::__private::select(
                $crate::__goro_select!(@list $($arm)*),
                $crate::__goro_select!(@has $($def)*),
            ));
        $(
            if let ::core::option::Option::Some(__value) = $out {
                let $p = __value;
                $body
            } else
        )*
        { $crate::__goro_select!(@default $($def)*) }
    }};
    (@parse $mode:tt [$($arms:tt)*] [$($def:tt)*] $($bad:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(rx) -> v => ...`, `send(tx, value) -> res => ...`, ",
            "`pattern = future => ...` or `default => ...`, found: ",
            ::core::stringify!($($bad)+)
        ))
    };
    (@list) => { () };
    (@list $first:tt $($rest:tt)*) => { ($first, $crate::__goro_select!(@list $($rest)*)) };
    (@has) => { false };
    (@has $def:tt) => { true };
    (@default) => { ::core::unreachable!("select!: no arm completed") };
    (@default $def:tt) => { $def };
    (@run (async) $sel:expr) => { $sel.await };
    (@run (blocking) $sel:expr) => { $crate::chan::__private::block_on($sel) };
}
