/*
 * A guest asking for far more memory than the host has: one 1 TiB
 * host-visible allocation, then 256 MiB ones until the driver refuses (at
 * most MAX_CHUNKS), never touching the pages. Every refusal must be
 * VK_ERROR_OUT_OF_HOST_MEMORY or VK_ERROR_OUT_OF_DEVICE_MEMORY. Then
 * everything is freed, a small allocation must work again, and with
 * `--pause` it prints "FREED" and waits for a line on stdin (so the test can
 * look at the server meanwhile) before it exits 0.
 */
#include "rb.h"

#define CHUNK (256ull << 20)
#define MAX_CHUNKS 512 /* 128 GiB */

static const char *result_name(VkResult r) {
  switch (r) {
  case VK_SUCCESS: return "VK_SUCCESS";
  case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
  default: return "other";
  }
}

static int is_oom(VkResult r) {
  return r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY;
}

int main(int argc, char **argv) {
  int pause = argc > 1 && strcmp(argv[1], "--pause") == 0;
  struct rb c;
  rb_init(&c, "oom");
  uint32_t type = rb_memory_type(&c, ~0u, HOST_MEM);
  VkDeviceSize heap = c.mem.memoryHeaps[c.mem.memoryTypes[type].heapIndex].size;
  printf("INFO heap=%llu MiB\n", (unsigned long long)(heap >> 20));

  VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                             .allocationSize = 1ull << 40,
                             .memoryTypeIndex = type};
  VkDeviceMemory huge = VK_NULL_HANDLE;
  VkResult r = vkAllocateMemory(c.dev, &ai, NULL, &huge);
  printf("INFO 1TiB=%s (%d)\n", result_name(r), r);
  if (r == VK_SUCCESS) {
    vkFreeMemory(c.dev, huge, NULL);
  } else if (!is_oom(r)) {
    FAIL("1 TiB allocation returned %d", r);
  }

  static VkDeviceMemory chunks[MAX_CHUNKS];
  unsigned n = 0;
  VkResult last = VK_SUCCESS;
  ai.allocationSize = CHUNK;
  while (n < MAX_CHUNKS) {
    last = vkAllocateMemory(c.dev, &ai, NULL, &chunks[n]);
    if (last != VK_SUCCESS) break;
    n++;
  }
  printf("INFO chunks=%u (%llu MiB) stop=%s (%d)\n", n, (unsigned long long)(n * (CHUNK >> 20)),
         n == MAX_CHUNKS ? "cap" : result_name(last), last);
  if (n < MAX_CHUNKS && !is_oom(last)) FAIL("allocation %u returned %d", n, last);
  fflush(stdout);
  for (unsigned i = 0; i < n; i++) vkFreeMemory(c.dev, chunks[i], NULL);

  /* the driver works again: a mapped allocation */
  ai.allocationSize = 1 << 20;
  VkDeviceMemory small;
  CHECK(vkAllocateMemory(c.dev, &ai, NULL, &small));
  uint32_t *p;
  CHECK(vkMapMemory(c.dev, small, 0, VK_WHOLE_SIZE, 0, (void **)&p));
  p[0] = 42;
  vkUnmapMemory(c.dev, small);
  vkFreeMemory(c.dev, small, NULL);
  printf("RESULT oom huge=%s chunks_freed=%u\n", is_oom(r) ? "refused" : "granted", n);
  if (pause) {
    printf("FREED\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof(line), stdin)) { /* EOF: go on */ }
  }
  rb_fini(&c);
  return 0;
}
