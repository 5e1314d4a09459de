;; An HDF5 filter plugin that decodes LZF (filter id 32000), as an Emscripten side module that
;; h5wasm's HDF5 loads from its plugin path like h5wasm-plugins' libH5Z*.so.
;;
;; Why not h5wasm-plugins' libH5Zlzf.so: it sizes its output from cd_values[2], which h5py does
;; not set for variable-length strings (every obs/var index and category of an lzf .h5ad), and
;; then fails, calling __errno_location, which h5wasm does not export: that aborts the whole
;; WebAssembly module. This one measures the output first (a pass over the LZF control bytes),
;; so it needs no size hint, and imports only malloc and free.
;;
;; Decoding only (encoder_present = 0): scNym never writes lzf; new datasets get gzip.
;;
;; LZF (liblzf's lzf_d.c): a control byte c < 32 is followed by c + 1 literal bytes; otherwise it
;; is a back reference: length c >> 5 (7: plus the next byte) + 2, offset ((c & 31) << 8) + the
;; next byte + 1 back from the end of the output.
;;
;; Assembled by core/scripts/build-wasm.mjs (wabt's wat2wasm) into core/h5plugins/libH5Zlzf.so,
;; with the "dylink.0" section that makes it a side module, from this line:
;; dylink.0 memory=36 align=2 table=1
(module
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__memory_base" (global $memory_base i32))
  (import "env" "__table_base" (global $table_base i32))
  (import "env" "malloc" (func $malloc (param i32) (result i32)))
  (import "env" "free" (func $free (param i32)))

  ;; H5Z_class2_t at offset 0 (wasm32: eight 4-byte fields), its name at 32.
  (data (global.get $memory_base)
    "\01\00\00\00"  ;; version: H5Z_CLASS_T_VERS
    "\00\7d\00\00"  ;; id: 32000
    "\00\00\00\00"  ;; encoder_present
    "\01\00\00\00"  ;; decoder_present
    "\00\00\00\00"  ;; name (set by $__wasm_apply_data_relocs)
    "\00\00\00\00"  ;; can_apply: none
    "\00\00\00\00"  ;; set_local: none
    "\00\00\00\00"  ;; filter (set by $__wasm_apply_data_relocs)
    "lzf\00")
  (elem (global.get $table_base) func $filter)

  ;; The pointers in the struct, once the loader has placed the data and the table entry.
  (func $__wasm_apply_data_relocs
    (i32.store offset=16 (global.get $memory_base)
      (i32.add (global.get $memory_base) (i32.const 32)))
    (i32.store offset=28 (global.get $memory_base) (global.get $table_base)))

  (func $H5PLget_plugin_type (result i32)
    (i32.const 0)) ;; H5PL_TYPE_FILTER

  (func $H5PLget_plugin_info (result i32)
    (global.get $memory_base))

  ;; The decoded size of [$in, $in + $n), or -1 when the stream is not valid LZF.
  (func $measure (param $in i32) (param $n i32) (result i32)
    (local $end i32) (local $out i32) (local $c i32) (local $len i32) (local $off i32)
    (local.set $end (i32.add (local.get $in) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $in) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $in)))
        (local.set $in (i32.add (local.get $in) (i32.const 1)))
        (if (i32.lt_u (local.get $c) (i32.const 32))
          (then
            ;; literal run
            (local.set $len (i32.add (local.get $c) (i32.const 1)))
            (if (i32.gt_u (local.get $len) (i32.sub (local.get $end) (local.get $in)))
              (then (return (i32.const -1))))
            (local.set $in (i32.add (local.get $in) (local.get $len))))
          (else
            ;; back reference
            (local.set $len (i32.shr_u (local.get $c) (i32.const 5)))
            (if (i32.eq (local.get $len) (i32.const 7))
              (then
                (if (i32.ge_u (local.get $in) (local.get $end)) (then (return (i32.const -1))))
                (local.set $len (i32.add (local.get $len) (i32.load8_u (local.get $in))))
                (local.set $in (i32.add (local.get $in) (i32.const 1)))))
            (if (i32.ge_u (local.get $in) (local.get $end)) (then (return (i32.const -1))))
            (local.set $off
              (i32.add
                (i32.or
                  (i32.shl (i32.and (local.get $c) (i32.const 31)) (i32.const 8))
                  (i32.load8_u (local.get $in)))
                (i32.const 1)))
            (local.set $in (i32.add (local.get $in) (i32.const 1)))
            (if (i32.gt_u (local.get $off) (local.get $out)) (then (return (i32.const -1))))
            (local.set $len (i32.add (local.get $len) (i32.const 2)))))
        ;; the output must stay addressable (and not reach -1)
        (if (i32.ge_u (local.get $len) (i32.sub (i32.const -1) (local.get $out)))
          (then (return (i32.const -1))))
        (local.set $out (i32.add (local.get $out) (local.get $len)))
        (br $next)))
    (local.get $out))

  ;; Decodes a stream $measure accepted into $out.
  (func $decode (param $in i32) (param $n i32) (param $out i32)
    (local $end i32) (local $c i32) (local $len i32) (local $ref i32)
    (local.set $end (i32.add (local.get $in) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $in) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $in)))
        (local.set $in (i32.add (local.get $in) (i32.const 1)))
        (if (i32.lt_u (local.get $c) (i32.const 32))
          (then
            (local.set $len (i32.add (local.get $c) (i32.const 1)))
            (memory.copy (local.get $out) (local.get $in) (local.get $len))
            (local.set $in (i32.add (local.get $in) (local.get $len)))
            (local.set $out (i32.add (local.get $out) (local.get $len))))
          (else
            (local.set $len (i32.shr_u (local.get $c) (i32.const 5)))
            (if (i32.eq (local.get $len) (i32.const 7))
              (then
                (local.set $len (i32.add (local.get $len) (i32.load8_u (local.get $in))))
                (local.set $in (i32.add (local.get $in) (i32.const 1)))))
            (local.set $ref
              (i32.sub
                (i32.sub (local.get $out) (i32.const 1))
                (i32.or
                  (i32.shl (i32.and (local.get $c) (i32.const 31)) (i32.const 8))
                  (i32.load8_u (local.get $in)))))
            (local.set $in (i32.add (local.get $in) (i32.const 1)))
            (local.set $len (i32.add (local.get $len) (i32.const 2)))
            ;; byte by byte, forwards: the reference may overlap what it writes (runs)
            (loop $copy
              (i32.store8 (local.get $out) (i32.load8_u (local.get $ref)))
              (local.set $out (i32.add (local.get $out) (i32.const 1)))
              (local.set $ref (i32.add (local.get $ref) (i32.const 1)))
              (local.set $len (i32.sub (local.get $len) (i32.const 1)))
              (br_if $copy (local.get $len)))))
        (br $next))))

  ;; H5Z_func_t: size_t (unsigned flags, size_t cd_nelmts, const unsigned cd_values[],
  ;; size_t nbytes, size_t *buf_size, void **buf). Replaces *buf with the decoded bytes and
  ;; returns their size; 0 tells HDF5 the filter failed.
  (func $filter
    (param $flags i32) (param $cd_nelmts i32) (param $cd_values i32) (param $nbytes i32)
    (param $buf_size i32) (param $buf i32) (result i32)
    (local $in i32) (local $size i32) (local $out i32)
    ;; H5Z_FLAG_REVERSE (0x100): decoding; anything else is a request to encode
    (if (i32.eqz (i32.and (local.get $flags) (i32.const 0x100))) (then (return (i32.const 0))))
    (local.set $in (i32.load (local.get $buf)))
    (local.set $size (call $measure (local.get $in) (local.get $nbytes)))
    (if (i32.or (i32.eq (local.get $size) (i32.const -1)) (i32.eqz (local.get $size)))
      (then (return (i32.const 0))))
    (local.set $out (call $malloc (local.get $size)))
    (if (i32.eqz (local.get $out)) (then (return (i32.const 0))))
    (call $decode (local.get $in) (local.get $nbytes) (local.get $out))
    (call $free (local.get $in))
    (i32.store (local.get $buf) (local.get $out))
    (i32.store (local.get $buf_size) (local.get $size))
    (local.get $size))

  (export "__wasm_apply_data_relocs" (func $__wasm_apply_data_relocs))
  (export "H5PLget_plugin_type" (func $H5PLget_plugin_type))
  (export "H5PLget_plugin_info" (func $H5PLget_plugin_info)))
