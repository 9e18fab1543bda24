//! The host functions on an `rg_services`: the shared store, plugin
//! metadata, the clock, logging and metrics, through the same host
//! services Rust plugins get. Each runs behind the panic barrier.

use abi_stable::std_types::{RSlice, RStr};
use radixgate_plugin::abi::{HostHandle, LogLevel, MetricId};

use super::abi::{code, RgBytes, RgServices};
use super::ffi::{self, barrier, barrier_or};

/// What an `rg_services` points to: one instance's handle to the host's
/// services and its plugin's name (log lines carry it).
pub struct CServices {
    /// The host's services.
    pub host: HostHandle,
    /// The plugin's name.
    pub plugin: String,
}

impl CServices {
    /// The `rg_services` pointer the plugin is given.
    pub fn as_services(&self) -> *const RgServices {
        (self as *const CServices).cast()
    }
}

/// The services behind `s`.
///
/// # Safety
/// `s` is NULL or an `rg_services` the host gave to a live instance.
unsafe fn services<'r>(s: *const RgServices) -> Result<&'r CServices, u32> {
    let s = s.cast::<CServices>();
    if s.is_null() || !s.is_aligned() {
        return Err(code::NULL_PARAMETER);
    }
    // SAFETY: the caller's contract: the host keeps it alive until the
    // instance's drop returned; it is only ever read.
    Ok(unsafe { &*s })
}

/// `store_incr`.
///
/// # Safety
/// The header's contract for `s`, `key` and the out-params.
pub unsafe extern "C" fn store_incr(
    s: *const RgServices,
    key: *const u8,
    key_len: usize,
    delta: i64,
    ttl_ms: u64,
    value: *mut i64,
    expires_at_ms: *mut u64,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let key = unsafe { ffi::required_text(key, key_len) }?;
        // SAFETY: the caller's (C's) contract.
        let counter = unsafe { services(s) }?
            .host
            .store_incr(key.into(), delta, ttl_ms);
        // SAFETY: the caller's contract for the optional out-params.
        unsafe {
            ffi::write_if(value, counter.value);
            ffi::write_if(expires_at_ms, counter.expires_at_ms);
        }
        Ok(())
    })
}

/// `store_get`.
///
/// # Safety
/// The header's contract for `s`, `key` and the buffer out.
pub unsafe extern "C" fn store_get(
    s: *const RgServices,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let key = unsafe { ffi::required_text(key, key_len) }?;
        // SAFETY: the caller's (C's) contract.
        let value = unsafe { services(s) }?.host.store_get(key.into());
        let value = value.into_option().ok_or(code::NONE)?;
        // SAFETY: the caller's contract for the buffer out.
        unsafe { ffi::copy_out(value.as_bytes(), buf, buf_len, out_len) }
    })
}

/// `store_set`.
///
/// # Safety
/// The header's contract for `s` and the buffers.
pub unsafe extern "C" fn store_set(
    s: *const RgServices,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    ttl_ms: u64,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let key = unsafe { ffi::required_text(key, key_len) }?;
        // SAFETY: the caller's (C's) contract.
        let value = unsafe { ffi::optional_text(value, value_len) }?;
        // SAFETY: the caller's (C's) contract.
        unsafe { services(s) }?
            .host
            .store_set(key.into(), value.into(), ttl_ms);
        Ok(())
    })
}

/// `plugin_metadata`.
///
/// # Safety
/// The header's contract for `s`, `plugin` and the buffer out.
pub unsafe extern "C" fn plugin_metadata(
    s: *const RgServices,
    plugin: *const u8,
    plugin_len: usize,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let plugin = unsafe { ffi::required_text(plugin, plugin_len) }?;
        // SAFETY: the caller's (C's) contract.
        let json = unsafe { services(s) }?.host.plugin_metadata(plugin.into());
        let json = json.into_option().ok_or(code::NONE)?;
        // SAFETY: the caller's contract for the buffer out.
        unsafe { ffi::copy_out(json.as_bytes(), buf, buf_len, out_len) }
    })
}

/// `now_unix_ms`.
///
/// # Safety
/// The header's contract for `s`.
pub unsafe extern "C" fn now_unix_ms(s: *const RgServices) -> u64 {
    barrier_or(0, || {
        // SAFETY: the caller's (C's) contract.
        unsafe { services(s) }.map_or(0, |s| s.host.now_unix_ms())
    })
}

/// `monotonic_ns`.
///
/// # Safety
/// The header's contract for `s`.
pub unsafe extern "C" fn monotonic_ns(s: *const RgServices) -> u64 {
    barrier_or(0, || {
        // SAFETY: the caller's (C's) contract.
        unsafe { services(s) }.map_or(0, |s| s.host.monotonic_ns())
    })
}

/// `log`.
///
/// # Safety
/// The header's contract for `s` and the message.
pub unsafe extern "C" fn log(
    s: *const RgServices,
    level: u32,
    message: *const u8,
    message_len: usize,
) -> u32 {
    barrier(|| {
        let level = match level {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            _ => return Err(code::INVALID_ARGUMENT),
        };
        // SAFETY: the caller's (C's) contract.
        let message = unsafe { ffi::optional_text(message, message_len) }?;
        // SAFETY: the caller's (C's) contract.
        let s = unsafe { services(s) }?;
        s.host.log(level, s.plugin.as_str().into(), message.into());
        Ok(())
    })
}

/// The texts of a C array of `rg_bytes` (label names or values).
///
/// # Safety
/// `items` readable for `count` entries, each readable for its length.
unsafe fn texts<'a>(items: *const RgBytes, count: usize) -> Result<Vec<RStr<'a>>, u32> {
    // SAFETY: the caller's contract.
    let items = unsafe { ffi::array(items, count) }?;
    items
        .iter()
        .map(|b| {
            // SAFETY: the caller's contract for each item.
            unsafe { ffi::bytes_of(b) }
                .and_then(ffi::utf8)
                .map(RStr::from)
        })
        .collect()
}

/// Writes a registered metric's id, or refuses with the reason logged.
///
/// # Safety
/// `id` as [`ffi::write`].
unsafe fn registered(
    s: &CServices,
    name: &str,
    result: Result<MetricId, String>,
    id: *mut u32,
) -> Result<(), u32> {
    match result {
        // SAFETY: the caller's contract.
        Ok(metric) => unsafe { ffi::write(id, metric.0) },
        Err(reason) => {
            tracing::warn!(plugin = %s.plugin, metric = name, "metric refused: {reason}");
            Err(code::METRIC_REFUSED)
        }
    }
}

/// `counter_register`.
///
/// # Safety
/// The header's contract for `s`, the buffers, the label array and `id`.
pub unsafe extern "C" fn counter_register(
    s: *const RgServices,
    name: *const u8,
    name_len: usize,
    help: *const u8,
    help_len: usize,
    labels: *const RgBytes,
    label_count: usize,
    id: *mut u32,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract, for every argument.
        let (s, name, help, labels) = unsafe {
            (
                services(s)?,
                ffi::required_text(name, name_len)?,
                ffi::optional_text(help, help_len)?,
                texts(labels, label_count)?,
            )
        };
        let result = s
            .host
            .register_counter(name.into(), help.into(), RSlice::from(&labels[..]))
            .into_result()
            .map_err(|e| e.into_string());
        // SAFETY: the caller's contract for `id`.
        unsafe { registered(s, name, result, id) }
    })
}

/// `histogram_register`.
///
/// # Safety
/// The header's contract for `s`, the buffers, the arrays and `id`.
pub unsafe extern "C" fn histogram_register(
    s: *const RgServices,
    name: *const u8,
    name_len: usize,
    help: *const u8,
    help_len: usize,
    labels: *const RgBytes,
    label_count: usize,
    buckets: *const f64,
    bucket_count: usize,
    id: *mut u32,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract, for every argument.
        let (s, name, help, labels, buckets) = unsafe {
            (
                services(s)?,
                ffi::required_text(name, name_len)?,
                ffi::optional_text(help, help_len)?,
                texts(labels, label_count)?,
                ffi::array(buckets, bucket_count)?,
            )
        };
        let result = s
            .host
            .register_histogram(
                name.into(),
                help.into(),
                RSlice::from(&labels[..]),
                RSlice::from(buckets),
            )
            .into_result()
            .map_err(|e| e.into_string());
        // SAFETY: the caller's contract for `id`.
        unsafe { registered(s, name, result, id) }
    })
}

/// `counter_add`.
///
/// # Safety
/// The header's contract for `s` and the label values.
pub unsafe extern "C" fn counter_add(
    s: *const RgServices,
    id: u32,
    label_values: *const RgBytes,
    label_count: usize,
    value: u64,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let (s, values) = unsafe { (services(s)?, texts(label_values, label_count)?) };
        s.host
            .counter_add(MetricId(id), RSlice::from(&values[..]), value);
        Ok(())
    })
}

/// `histogram_observe`.
///
/// # Safety
/// The header's contract for `s` and the label values.
pub unsafe extern "C" fn histogram_observe(
    s: *const RgServices,
    id: u32,
    label_values: *const RgBytes,
    label_count: usize,
    value: f64,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let (s, values) = unsafe { (services(s)?, texts(label_values, label_count)?) };
        s.host
            .histogram_observe(MetricId(id), RSlice::from(&values[..]), value);
        Ok(())
    })
}
