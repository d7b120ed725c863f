/*
 * Vulkan workload benchmarks for Vesper (issue 5 item 6): one program, one
 * metric per subcommand, one JSON line on stdout per run.
 *
 *   vkbench submit    [-n 2000]          submit+wait latency of an almost empty command buffer
 *   vkbench cmdstream [-n 200000] [-r 5] [-c push|viewport]
 *                                        one command buffer of n cheap commands: record+submit+wait
 *   vkbench upload    [-s 64] [-r 10]    memcpy into mapped memory, flush, GPU copy to a
 *                                        device-local buffer, wait (MiB; needs mappable memory)
 *   vkbench dispatch  [-n 1000]          record + submit + wait of one small compute dispatch
 *   vkbench alloc     [-n 2000]          vkCreateBuffer + vkAllocateMemory + bind + destroy + free
 *   vkbench init      [-n 20]            vkCreateInstance + vkCreateDevice + destroy
 *
 * -w N: untimed warm-up iterations of submit, dispatch and alloc (default 20).
 * VKBENCH_SAMPLES=FILE: submit and dispatch also write each timed iteration's
 * latency (µs, one per line, in iteration order) to FILE, to see when the
 * slow ones happen and not only how many there are.
 * Only `upload` maps memory, so the others also run against a render server
 * that cannot export mappable memory (with Mesa's VN_PERF no-feedback flags).
 * On failure the JSON line has "ok":false and the exit status is 1.
 *
 * Built by bench/vulkan_workloads.ts; shaders/fill.comp becomes fill_comp.h
 * (glslangValidator -V --vn fill_comp).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include "fill_comp.h"

static const char *metric = "?";

static void fail(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *p = msg; *p; p++)
    if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = ' ';
  printf("{\"metric\":\"%s\",\"ok\":false,\"error\":\"%s\"}\n", metric, msg);
  fflush(stdout);
  exit(1);
}

#define CHECK(call)                                                  \
  do {                                                               \
    VkResult r_ = (call);                                            \
    if (r_ != VK_SUCCESS) fail("%s failed: VkResult %d", #call, r_); \
  } while (0)

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The p-quantile (0..1) of n samples; sorts them. */
static double quantile(double *xs, int n, double p) {
  qsort(xs, n, sizeof *xs, cmp_double);
  int i = (int)(p * n);
  if (i >= n) i = n - 1;
  return xs[i];
}

static double maximum(const double *xs, int n) {
  double m = xs[0];
  for (int i = 1; i < n; i++)
    if (xs[i] > m) m = xs[i];
  return m;
}

static double mean(const double *xs, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += xs[i];
  return s / n;
}

/* VKBENCH_SAMPLES: the latencies in iteration order (call before quantile() sorts them). */
static void dump_samples(const double *xs, int n) {
  const char *path = getenv("VKBENCH_SAMPLES");
  if (!path || !*path) return;
  FILE *f = fopen(path, "w");
  if (!f) fail("VKBENCH_SAMPLES: cannot write %s", path);
  for (int i = 0; i < n; i++) fprintf(f, "%.2f\n", xs[i]);
  if (fclose(f) != 0) fail("VKBENCH_SAMPLES: cannot write %s", path);
}

static double *samples(int n) {
  double *xs = calloc(n, sizeof *xs);
  if (!xs) fail("out of memory");
  return xs;
}

/* ---- instance, device, queue ------------------------------------------------ */

struct ctx {
  VkInstance instance;
  VkPhysicalDevice pdev;
  VkDevice dev;
  VkQueue queue;
  uint32_t qfam;
  VkPhysicalDeviceMemoryProperties mem;
  char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
  VkCommandPool pool;
  VkFence fence;
};

static void create_instance(struct ctx *c) {
  VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "vesper-vkbench",
      .apiVersion = VK_API_VERSION_1_1,
  };
  VkInstanceCreateInfo ici = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .pApplicationInfo = &app,
  };
  CHECK(vkCreateInstance(&ici, NULL, &c->instance));
}

static void create_device(struct ctx *c) {
  uint32_t n = 1;
  VkResult r = vkEnumeratePhysicalDevices(c->instance, &n, &c->pdev);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || n == 0) fail("no physical device (%d)", r);
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(c->pdev, &props);
  snprintf(c->name, sizeof c->name, "%s", props.deviceName);
  vkGetPhysicalDeviceMemoryProperties(c->pdev, &c->mem);
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(c->pdev, &nq, NULL);
  VkQueueFamilyProperties qf[16];
  if (nq > 16) nq = 16;
  vkGetPhysicalDeviceQueueFamilyProperties(c->pdev, &nq, qf);
  c->qfam = UINT32_MAX;
  for (uint32_t i = 0; i < nq; i++)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      c->qfam = i;
      break;
    }
  if (c->qfam == UINT32_MAX) fail("no compute queue");
  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = c->qfam,
      .queueCount = 1,
      .pQueuePriorities = &prio,
  };
  VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &qci,
  };
  CHECK(vkCreateDevice(c->pdev, &dci, NULL, &c->dev));
  vkGetDeviceQueue(c->dev, c->qfam, 0, &c->queue);
}

static void setup(struct ctx *c) {
  create_instance(c);
  create_device(c);
  VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = c->qfam,
  };
  CHECK(vkCreateCommandPool(c->dev, &pci, NULL, &c->pool));
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  CHECK(vkCreateFence(c->dev, &fci, NULL, &c->fence));
}

static void teardown(struct ctx *c) {
  vkDeviceWaitIdle(c->dev);
  vkDestroyFence(c->dev, c->fence, NULL);
  vkDestroyCommandPool(c->dev, c->pool, NULL);
  vkDestroyDevice(c->dev, NULL);
  vkDestroyInstance(c->instance, NULL);
}

static VkCommandBuffer alloc_cmdbuf(struct ctx *c) {
  VkCommandBufferAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = c->pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
  };
  VkCommandBuffer cb;
  CHECK(vkAllocateCommandBuffers(c->dev, &ai, &cb));
  return cb;
}

static void begin(VkCommandBuffer cb, VkCommandBufferUsageFlags flags) {
  VkCommandBufferBeginInfo bi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = flags,
  };
  CHECK(vkBeginCommandBuffer(cb, &bi));
}

/* Submits one command buffer with the context's fence, waits, resets the fence. */
static void submit_wait(struct ctx *c, VkCommandBuffer cb) {
  VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &cb,
  };
  CHECK(vkQueueSubmit(c->queue, 1, &si, c->fence));
  CHECK(vkWaitForFences(c->dev, 1, &c->fence, VK_TRUE, UINT64_MAX));
  CHECK(vkResetFences(c->dev, 1, &c->fence));
}

/* A memory type allowed by `bits` with all of `want`, preferring none of `avoid`. */
static uint32_t mem_type(struct ctx *c, uint32_t bits, VkMemoryPropertyFlags want,
                         VkMemoryPropertyFlags avoid) {
  uint32_t fallback = UINT32_MAX;
  for (uint32_t i = 0; i < c->mem.memoryTypeCount; i++) {
    VkMemoryPropertyFlags f = c->mem.memoryTypes[i].propertyFlags;
    if (!(bits & (1u << i)) || (f & want) != want) continue;
    if (!(f & avoid)) return i;
    if (fallback == UINT32_MAX) fallback = i;
  }
  if (fallback == UINT32_MAX) fail("no memory type with flags 0x%x", want);
  return fallback;
}

struct buf {
  VkBuffer buffer;
  VkDeviceMemory memory;
  VkMemoryPropertyFlags flags;
};

static struct buf make_buffer(struct ctx *c, VkDeviceSize size, VkBufferUsageFlags usage,
                              VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid) {
  struct buf b;
  VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = size,
      .usage = usage,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  CHECK(vkCreateBuffer(c->dev, &bci, NULL, &b.buffer));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(c->dev, b.buffer, &req);
  uint32_t t = mem_type(c, req.memoryTypeBits, want, avoid);
  b.flags = c->mem.memoryTypes[t].propertyFlags;
  VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = req.size,
      .memoryTypeIndex = t,
  };
  CHECK(vkAllocateMemory(c->dev, &mai, NULL, &b.memory));
  CHECK(vkBindBufferMemory(c->dev, b.buffer, b.memory, 0));
  return b;
}

static void free_buffer(struct ctx *c, struct buf *b) {
  vkDestroyBuffer(c->dev, b->buffer, NULL);
  vkFreeMemory(c->dev, b->memory, NULL);
}

/* ---- metrics ------------------------------------------------------------------ */

/* untimed iterations before the timed ones (-w): a JIT-compiled server needs a few
   thousand to reach its steady state, a C server none */
static int WARMUP = 20;

/* submit+wait latency: a command buffer with one pipeline barrier, recorded once. */
static void bench_submit(int n) {
  struct ctx c;
  setup(&c);
  VkCommandBuffer cb = alloc_cmdbuf(&c);
  begin(cb, 0);
  VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_SHADER_READ_BIT,
  };
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  CHECK(vkEndCommandBuffer(cb));
  for (int i = 0; i < WARMUP; i++) submit_wait(&c, cb);
  double *xs = samples(n);
  double t0 = now_us();
  for (int i = 0; i < n; i++) {
    double t = now_us();
    submit_wait(&c, cb);
    xs[i] = now_us() - t;
  }
  double total = now_us() - t0;
  dump_samples(xs, n);
  double avg = mean(xs, n);
  double p50 = quantile(xs, n, 0.5), p99 = quantile(xs, n, 0.99);
  printf("{\"metric\":\"submit\",\"ok\":true,\"device\":\"%s\",\"n\":%d,\"median_us\":%.2f,"
         "\"p99_us\":%.2f,\"mean_us\":%.2f,\"max_us\":%.2f,\"per_s\":%.1f}\n",
         c.name, n, p50, p99, avg, maximum(xs, n), n / (total / 1e6));
  teardown(&c);
}

/* command-stream throughput: n cheap commands in one command buffer, record+submit+wait. */
static void bench_cmdstream(int n, int rounds, const char *kind) {
  int viewport = strcmp(kind, "viewport") == 0;
  if (!viewport && strcmp(kind, "push") != 0) fail("unknown command kind %s", kind);
  struct ctx c;
  setup(&c);
  VkPushConstantRange range = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 16};
  VkPipelineLayoutCreateInfo lci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .pushConstantRangeCount = 1,
      .pPushConstantRanges = &range,
  };
  VkPipelineLayout layout;
  CHECK(vkCreatePipelineLayout(c.dev, &lci, NULL, &layout));
  VkCommandBuffer cb = alloc_cmdbuf(&c);
  double *rec = samples(rounds), *sub = samples(rounds), *tot = samples(rounds);
  for (int r = -1; r < rounds; r++) { /* round -1 warms up */
    CHECK(vkResetCommandPool(c.dev, c.pool, 0));
    double t0 = now_us();
    begin(cb, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
    uint32_t v[4] = {0, 1, 2, 3};
    VkViewport vp = {0, 0, 64, 64, 0, 1};
    for (int i = 0; i < n; i++) {
      if (viewport) {
        vp.x = (float)(i & 15);
        vkCmdSetViewport(cb, 0, 1, &vp);
      } else {
        v[0] = (uint32_t)i;
        vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof v, v);
      }
    }
    CHECK(vkEndCommandBuffer(cb));
    double t1 = now_us();
    submit_wait(&c, cb);
    double t2 = now_us();
    if (r < 0) continue;
    rec[r] = t1 - t0;
    sub[r] = t2 - t1;
    tot[r] = t2 - t0;
  }
  /* the trend over the rounds (before quantile() sorts the samples) */
  double first = tot[0], last = tot[rounds - 1];
  double med = quantile(tot, rounds, 0.5);
  printf("{\"metric\":\"cmdstream\",\"ok\":true,\"device\":\"%s\",\"command\":\"%s\","
         "\"commands\":%d,\"rounds\":%d,\"median_ms\":%.3f,\"record_ms\":%.3f,"
         "\"submit_wait_ms\":%.3f,\"first_ms\":%.3f,\"last_ms\":%.3f,\"cmds_per_s\":%.0f}\n",
         c.name, viewport ? "vkCmdSetViewport" : "vkCmdPushConstants", n, rounds, med / 1e3,
         quantile(rec, rounds, 0.5) / 1e3, quantile(sub, rounds, 0.5) / 1e3, first / 1e3,
         last / 1e3, n / (med / 1e6));
  vkDestroyPipelineLayout(c.dev, layout, NULL);
  teardown(&c);
}

/* upload bandwidth: memcpy into a mapped host-visible buffer, flush, GPU copy, wait. */
static void bench_upload(int mib, int rounds) {
  struct ctx c;
  setup(&c);
  VkDeviceSize size = (VkDeviceSize)mib << 20;
  struct buf staging = make_buffer(&c, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                   VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, 0);
  struct buf dst = make_buffer(&c, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                               VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
  void *map;
  CHECK(vkMapMemory(c.dev, staging.memory, 0, VK_WHOLE_SIZE, 0, &map));
  unsigned char *src = malloc(size);
  if (!src) fail("out of memory");
  for (VkDeviceSize i = 0; i < size; i++) src[i] = (unsigned char)(i * 131 + 7);
  VkCommandBuffer cb = alloc_cmdbuf(&c);
  begin(cb, 0);
  VkBufferCopy region = {.size = size};
  vkCmdCopyBuffer(cb, staging.buffer, dst.buffer, 1, &region);
  CHECK(vkEndCommandBuffer(cb));
  VkMappedMemoryRange range = {
      .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
      .memory = staging.memory,
      .size = VK_WHOLE_SIZE,
  };
  double *tot = samples(rounds), *cpy = samples(rounds);
  for (int r = -1; r < rounds; r++) {
    double t0 = now_us();
    memcpy(map, src, size);
    CHECK(vkFlushMappedMemoryRanges(c.dev, 1, &range));
    double t1 = now_us();
    submit_wait(&c, cb);
    double t2 = now_us();
    if (r < 0) continue;
    cpy[r] = t1 - t0;
    tot[r] = t2 - t0;
  }
  double med = quantile(tot, rounds, 0.5);
  printf("{\"metric\":\"upload\",\"ok\":true,\"device\":\"%s\",\"mib\":%d,\"rounds\":%d,"
         "\"coherent\":%s,\"median_ms\":%.3f,\"memcpy_ms\":%.3f,\"MBps\":%.1f}\n",
         c.name, mib, rounds,
         (staging.flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) ? "true" : "false", med / 1e3,
         quantile(cpy, rounds, 0.5) / 1e3, size / med);
  vkUnmapMemory(c.dev, staging.memory);
  free(src);
  free_buffer(&c, &staging);
  free_buffer(&c, &dst);
  teardown(&c);
}

/* dispatches/s: record one small compute dispatch, submit, wait; repeated. */
static void bench_dispatch(int n) {
  struct ctx c;
  setup(&c);
  const uint32_t groups = 1, words = 64 * groups;
  struct buf out = make_buffer(&c, words * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                               VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                               VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
  VkDescriptorSetLayoutBinding binding = {
      .binding = 0,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
  };
  VkDescriptorSetLayoutCreateInfo dslci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = 1,
      .pBindings = &binding,
  };
  VkDescriptorSetLayout dsl;
  CHECK(vkCreateDescriptorSetLayout(c.dev, &dslci, NULL, &dsl));
  VkPushConstantRange range = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 4};
  VkPipelineLayoutCreateInfo lci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &dsl,
      .pushConstantRangeCount = 1,
      .pPushConstantRanges = &range,
  };
  VkPipelineLayout layout;
  CHECK(vkCreatePipelineLayout(c.dev, &lci, NULL, &layout));
  VkShaderModuleCreateInfo smci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = sizeof fill_comp,
      .pCode = fill_comp,
  };
  VkShaderModule sm;
  CHECK(vkCreateShaderModule(c.dev, &smci, NULL, &sm));
  VkComputePipelineCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage =
          {
              .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
              .stage = VK_SHADER_STAGE_COMPUTE_BIT,
              .module = sm,
              .pName = "main",
          },
      .layout = layout,
  };
  VkPipeline pipe;
  CHECK(vkCreateComputePipelines(c.dev, VK_NULL_HANDLE, 1, &cpci, NULL, &pipe));
  VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1};
  VkDescriptorPoolCreateInfo dpci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
      .maxSets = 1,
      .poolSizeCount = 1,
      .pPoolSizes = &ps,
  };
  VkDescriptorPool dpool;
  CHECK(vkCreateDescriptorPool(c.dev, &dpci, NULL, &dpool));
  VkDescriptorSetAllocateInfo dsai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = dpool,
      .descriptorSetCount = 1,
      .pSetLayouts = &dsl,
  };
  VkDescriptorSet set;
  CHECK(vkAllocateDescriptorSets(c.dev, &dsai, &set));
  VkDescriptorBufferInfo dbi = {out.buffer, 0, VK_WHOLE_SIZE};
  VkWriteDescriptorSet w = {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
      .dstSet = set,
      .descriptorCount = 1,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .pBufferInfo = &dbi,
  };
  vkUpdateDescriptorSets(c.dev, 1, &w, 0, NULL);
  VkCommandBuffer cb = alloc_cmdbuf(&c);
  double *xs = samples(n);
  double t0 = 0;
  for (int i = -WARMUP; i < n; i++) {
    if (i == 0) t0 = now_us();
    double t = now_us();
    begin(cb, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
    uint32_t base = (uint32_t)i;
    vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &base);
    vkCmdDispatch(cb, groups, 1, 1);
    CHECK(vkEndCommandBuffer(cb));
    submit_wait(&c, cb);
    if (i >= 0) xs[i] = now_us() - t;
  }
  double total = now_us() - t0;
  dump_samples(xs, n);
  double avg = mean(xs, n);
  double p50 = quantile(xs, n, 0.5), p90 = quantile(xs, n, 0.9), p99 = quantile(xs, n, 0.99);
  printf("{\"metric\":\"dispatch\",\"ok\":true,\"device\":\"%s\",\"n\":%d,\"median_us\":%.2f,"
         "\"p90_us\":%.2f,\"p99_us\":%.2f,\"mean_us\":%.2f,\"max_us\":%.2f,\"per_s\":%.1f}\n",
         c.name, n, p50, p90, p99, avg, maximum(xs, n), n / (total / 1e6));
  vkDestroyDescriptorPool(c.dev, dpool, NULL);
  vkDestroyPipeline(c.dev, pipe, NULL);
  vkDestroyShaderModule(c.dev, sm, NULL);
  vkDestroyPipelineLayout(c.dev, layout, NULL);
  vkDestroyDescriptorSetLayout(c.dev, dsl, NULL);
  free_buffer(&c, &out);
  teardown(&c);
}

/* buffer+memory create/destroy cycles per second, closed by a device-wide sync. */
static void bench_alloc(int n) {
  struct ctx c;
  setup(&c);
  for (int i = 0; i < WARMUP; i++) {
    struct buf b = make_buffer(&c, 65536, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                               VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    free_buffer(&c, &b);
  }
  CHECK(vkDeviceWaitIdle(c.dev));
  double t0 = now_us();
  for (int i = 0; i < n; i++) {
    struct buf b = make_buffer(&c, 65536, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                               VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    free_buffer(&c, &b);
  }
  /* Venus sends most of these asynchronously: count the time until the host has them all. */
  CHECK(vkDeviceWaitIdle(c.dev));
  double total = now_us() - t0;
  printf("{\"metric\":\"alloc\",\"ok\":true,\"device\":\"%s\",\"n\":%d,\"total_ms\":%.3f,"
         "\"us_per_op\":%.2f,\"per_s\":%.1f}\n",
         c.name, n, total / 1e3, total / n, n / (total / 1e6));
  teardown(&c);
}

/* instance+device creation (and destruction) time. */
static void bench_init(int n) {
  double *inst = samples(n), *dev = samples(n), *both = samples(n), *destroy = samples(n);
  char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE] = "";
  double first = 0;
  for (int i = 0; i < n; i++) {
    struct ctx c;
    memset(&c, 0, sizeof c);
    double t0 = now_us();
    create_instance(&c);
    double t1 = now_us();
    create_device(&c);
    double t2 = now_us();
    vkDestroyDevice(c.dev, NULL);
    vkDestroyInstance(c.instance, NULL);
    double t3 = now_us();
    inst[i] = t1 - t0;
    dev[i] = t2 - t1;
    both[i] = t2 - t0;
    destroy[i] = t3 - t2;
    if (i == 0) {
      first = both[0];
      memcpy(name, c.name, sizeof name);
    }
  }
  printf("{\"metric\":\"init\",\"ok\":true,\"device\":\"%s\",\"n\":%d,\"median_ms\":%.3f,"
         "\"p90_ms\":%.3f,\"first_ms\":%.3f,\"instance_ms\":%.3f,\"device_ms\":%.3f,"
         "\"destroy_ms\":%.3f}\n",
         name, n, quantile(both, n, 0.5) / 1e3, quantile(both, n, 0.9) / 1e3, first / 1e3,
         quantile(inst, n, 0.5) / 1e3, quantile(dev, n, 0.5) / 1e3,
         quantile(destroy, n, 0.5) / 1e3);
}

static void usage(void) {
  fprintf(stderr,
          "usage: vkbench submit|cmdstream|upload|dispatch|alloc|init [-n N] [-w WARMUP] "
          "[-r ROUNDS] [-s MIB] [-c push|viewport]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  metric = argv[1];
  int n = -1, rounds = -1, mib = 64;
  const char *kind = "push";
  int opt;
  optind = 2;
  while ((opt = getopt(argc, argv, "n:w:r:s:c:")) != -1) {
    switch (opt) {
      case 'n': n = atoi(optarg); break;
      case 'w': WARMUP = atoi(optarg) > 0 ? atoi(optarg) : 0; break;
      case 'r': rounds = atoi(optarg); break;
      case 's': mib = atoi(optarg); break;
      case 'c': kind = optarg; break;
      default: usage();
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strcmp(metric, "submit")) bench_submit(n > 0 ? n : 2000);
  else if (!strcmp(metric, "cmdstream"))
    bench_cmdstream(n > 0 ? n : 200000, rounds > 0 ? rounds : 5, kind);
  else if (!strcmp(metric, "upload")) bench_upload(mib > 0 ? mib : 64, rounds > 0 ? rounds : 10);
  else if (!strcmp(metric, "dispatch")) bench_dispatch(n > 0 ? n : 1000);
  else if (!strcmp(metric, "alloc")) bench_alloc(n > 0 ? n : 2000);
  else if (!strcmp(metric, "init")) bench_init(n > 0 ? n : 20);
  else usage();
  return 0;
}
