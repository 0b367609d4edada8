// ecostat._ecostat: the compiled half of the Python module (python/ecostat/__init__.py is the
// other). It runs jobs through the host-side driver (ecostat/job.hpp) on paths and Arrow C
// streams, with the GIL released, and hands results out as JSON and Arrow C streams.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>
#include <string_view>

#include "arrow_export.hpp"
#include "ecostat/backend.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/job.hpp"
#include "ecostat/partial.hpp"
#include "ecostat/version.hpp"
#include "options.hpp"
#include "results_tables.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ecostat::python {

namespace {

constexpr const char* kStreamCapsule = "arrow_array_stream";  // the Arrow PyCapsule interface's name

// ---- errors ---------------------------------------------------------------------------------
// The exception classes are defined in Python (ecostat/__init__.py registers them); until
// then the built-in bases stand in. Held for the life of the process.
struct ExceptionTypes {
  PyObject* error = PyExc_RuntimeError;
  PyObject* input = PyExc_ValueError;
  PyObject* usage = PyExc_ValueError;
  PyObject* backend = PyExc_RuntimeError;
} g_types;

void set_exception_types(nb::handle error, nb::handle input, nb::handle usage, nb::handle backend) {
  for (nb::handle t : {error, input, usage, backend})
    if (!PyType_Check(t.ptr()) || !PyType_IsSubtype((PyTypeObject*)t.ptr(), (PyTypeObject*)PyExc_Exception))
      throw nb::type_error("_set_exception_types: exception classes expected");
  g_types = {error.inc_ref().ptr(), input.inc_ref().ptr(), usage.inc_ref().ptr(), backend.inc_ref().ptr()};
}

nb::object none_if_empty(const std::string& s) { return s.empty() ? nb::none() : nb::object(nb::str(s.c_str())); }

// InputError(message, file=, line=, field=, reason=): the message is the CLI's (what()).
void raise_input_error(const InputError& e) {
  try {
    nb::object exc = nb::handle(g_types.input)(
        nb::str(e.what()), "file"_a = none_if_empty(e.file()),
        "line"_a = e.line() ? nb::object(nb::int_(e.line())) : nb::none(), "field"_a = none_if_empty(e.field()),
        "reason"_a = none_if_empty(e.reason()));
    PyErr_SetObject(g_types.input, exc.ptr());
  } catch (nb::python_error& failed) {
    failed.restore();  // constructing the exception failed: raise that instead
  }
}

void translate_exception(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const InputError& e) {
    raise_input_error(e);
  } catch (const UsageError& e) {
    PyErr_SetString(g_types.usage, e.what());
  } catch (const NotCompiledError& e) {
    PyErr_SetString(g_types.backend, e.what());
  } catch (const BackendUnavailableError& e) {
    PyErr_SetString(g_types.backend, e.what());
  } catch (const DeviceError& e) {
    PyErr_SetString(g_types.backend, e.what());
  } catch (const Error& e) {
    PyErr_SetString(g_types.error, e.what());
  }
}

// ---- Arrow streams in ----------------------------------------------------------------------
// Moves the stream out of an "arrow_array_stream" capsule (the Arrow PyCapsule interface):
// the struct is copied and the capsule's copy marked released, so the capsule's destructor
// does not release it again.
ArrowArrayStream take_stream(nb::handle capsule, const std::string& name) {
  if (!PyCapsule_IsValid(capsule.ptr(), kStreamCapsule))
    throw nb::type_error(("input '" + name + "': expected an 'arrow_array_stream' PyCapsule").c_str());
  auto* stream = static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(capsule.ptr(), kStreamCapsule));
  if (!stream->release)
    throw nb::value_error(("input '" + name + "': the Arrow stream was already consumed").c_str());
  ArrowArrayStream moved = *stream;
  stream->release = nullptr;
  return moved;
}

// Streams taken from capsules and not (yet) handed to a job are released here.
struct OwnedStreams {
  JobStreams streams;
  OwnedStreams() = default;
  OwnedStreams(const OwnedStreams&) = delete;
  OwnedStreams& operator=(const OwnedStreams&) = delete;
  ~OwnedStreams() {
    for (auto* role : {&streams.repos, &streams.downloads, &streams.orgs, &streams.params})
      for (auto& s : *role)
        if (s.stream.release) s.stream.release(&s.stream);
  }
};

std::vector<StreamInput>& role_streams(JobStreams& streams, const std::string& role) {
  if (role == "repos") return streams.repos;
  if (role == "downloads") return streams.downloads;
  if (role == "orgs") return streams.orgs;
  if (role == "params") return streams.params;
  throw nb::value_error(("unknown input role '" + role + "'").c_str());
}

// paths: {role: path}; streams: [(role, name, capsule)]; options: {name: value}.
JobSpec job_spec(const nb::dict& paths, const nb::dict& options) {
  JobSpec spec;
  apply_options(spec, options);
  for (auto [key, value] : paths) {
    const std::string role = nb::cast<std::string>(key), path = nb::cast<std::string>(value);
    if (role == "repos") spec.repos_path = path;
    else if (role == "downloads") spec.downloads_path = path;
    else if (role == "orgs") spec.orgs_path = path;
    else if (role == "params") spec.params_path = path;
    else throw nb::value_error(("unknown input role '" + role + "'").c_str());
  }
  return spec;
}

void take_streams(OwnedStreams& owned, const nb::list& streams) {
  for (nb::handle item : streams) {
    auto t = nb::cast<nb::tuple>(item);
    const std::string role = nb::cast<std::string>(t[0]), name = nb::cast<std::string>(t[1]);
    auto& list = role_streams(owned.streams, role);
    list.push_back(StreamInput{take_stream(t[2], name), name});
  }
}

template <class Out, class Job>
Out run_with(const nb::dict& paths, const nb::list& streams, const nb::dict& options, Job job) {
  const JobSpec spec = job_spec(paths, options);
  OwnedStreams owned;
  take_streams(owned, streams);
  JobStreams handed = std::move(owned.streams);  // the job releases them, also when it fails
  owned.streams = {};
  nb::gil_scoped_release unlocked;
  return job(spec, std::move(handed));
}

// ---- Arrow streams out ---------------------------------------------------------------------
nb::object stream_capsule(ArrowArrayStream stream) {
  auto* heap = new ArrowArrayStream(stream);
  PyObject* capsule = PyCapsule_New(heap, kStreamCapsule, [](PyObject* c) {
    auto* s = static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(c, kStreamCapsule));
    if (s->release) s->release(s);
    delete s;
  });
  if (!capsule) {
    heap->release(heap);
    delete heap;
    throw nb::python_error();
  }
  return nb::steal(capsule);
}

nb::object table_capsule(const Results& r, const std::string& name) {
  ExportTable table;
  try {
    table = results_table(r, name);
  } catch (const std::out_of_range& e) {
    throw nb::key_error(e.what());
  }
  return stream_capsule(export_stream(std::move(table)));
}

// ---- small views ---------------------------------------------------------------------------
nb::dict backend_dict(const BackendInfo& b) {
  nb::dict d;
  d["name"] = b.name;
  d["compiled"] = b.compiled;
  d["available"] = b.available;
  d["device"] = b.device;
  d["status"] = b.status;
  return d;
}

nb::list backends() {
  nb::list out;
  for (const BackendInfo& b : {probe_cpu_backend(), probe_cuda_backend(), probe_hip_backend()})
    out.append(backend_dict(b));
  return out;
}

nb::bytes partial_bytes(const Partial& p) {
  std::string bytes;
  {
    nb::gil_scoped_release unlocked;
    bytes = p.serialize();
  }
  return nb::bytes(bytes.data(), bytes.size());
}

Partial partial_from_bytes(nb::bytes b) {
  const std::string_view view(static_cast<const char*>(b.data()), b.size());  // bytes are immutable
  nb::gil_scoped_release unlocked;
  return Partial::deserialize(view);
}

Results finish_partial(const Partial& p, const nb::dict& options) {
  JobSpec spec;
  apply_options(spec, options);
  Partial copy = p;  // the Python object stays usable
  nb::gil_scoped_release unlocked;
  return finish(std::move(copy), spec);
}

Partial merge_partials(const nb::list& parts) {
  std::vector<Partial> copies;
  for (nb::handle h : parts) copies.push_back(nb::cast<const Partial&>(h));
  nb::gil_scoped_release unlocked;
  return merge(std::move(copies));
}

}  // namespace

}  // namespace ecostat::python

NB_MODULE(_ecostat, m) {
  using namespace ecostat;
  using namespace ecostat::python;
  m.doc() = "ecostat's compiled core; use the `ecostat` package (docs/python.md).";
  nb::register_exception_translator(translate_exception);

  m.def("_set_exception_types", &set_exception_types, "error"_a, "input_error"_a, "usage_error"_a, "backend_error"_a);
  m.def("version", [] { return std::string(version()); });
  m.def("commit", [] { return std::string(commit()); });
  m.def("backends", &backends, "The backends: name, compiled, available, device, status.");
  m.def("option_names", &option_names, "Every keyword option run/partial/finish take.");

  nb::class_<Results>(m, "_Results")
      .def(
          "to_json",
          [](const Results& r, int indent, unsigned threads) {
            nb::gil_scoped_release unlocked;  // long share tables take a while to format
            return results_to_json(r, indent, threads);
          },
          "indent"_a = 2, "threads"_a = 1)
      .def("table_names", &table_names)
      .def("table_stream", &table_capsule, "name"_a, "An 'arrow_array_stream' PyCapsule of the table.")
      .def_prop_ro("backend", [](const Results& r) {
        nb::dict d = backend_dict(r.backend);
        if (r.accumulator.device) {  // as the results document's backend.memory
          nb::dict m;
          m["partitioned"] = r.accumulator.partitioned;
          m["finish_passes"] = r.accumulator.finish_passes;
          m["chunk_events"] = r.accumulator.chunk_events;
          m["chunk_halvings"] = r.accumulator.chunk_halvings;
          d["memory"] = m;
        }
        return d;
      });

  nb::class_<Partial>(m, "_Partial")
      .def("to_bytes", &partial_bytes)
      .def_static("from_bytes", &partial_from_bytes, "data"_a)
      .def("finish", &finish_partial, "options"_a)
      .def_prop_ro("events", [](const Partial& p) { return p.events; })
      .def_prop_ro("repositories", [](const Partial& p) { return p.repos.size(); });

  m.def("_run", [](const nb::dict& paths, const nb::list& streams, const nb::dict& options) {
    return run_with<Results>(paths, streams, options, [](const JobSpec& s, JobStreams st) { return run_job(s, std::move(st)); });
  }, "paths"_a, "streams"_a, "options"_a);
  m.def("_run_partial", [](const nb::dict& paths, const nb::list& streams, const nb::dict& options) {
    return run_with<Partial>(paths, streams, options,
                             [](const JobSpec& s, JobStreams st) { return run_partial(s, std::move(st)); });
  }, "paths"_a, "streams"_a, "options"_a);
  m.def("_merge", &merge_partials, "parts"_a);
}
