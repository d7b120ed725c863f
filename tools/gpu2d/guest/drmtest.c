/*
 * drmtest: the guest half of Vesper's gpu2d end-to-end test.
 *
 * Drives the KMS API the way a modesetting X server does, with raw ioctls
 * (no libdrm library): a dumb framebuffer, SETCRTC, drawing into the mapped
 * buffer and DRM_IOCTL_MODE_DIRTYFB with known clips, then a hardware
 * cursor. Every step prints a line on the console; the host side checks
 * the rects it saw against the ones listed here.
 *
 * Phases (the final picture is what the host's screendump must show):
 *   1. full-frame gradient, DIRTYFB with 0 clips
 *   2. two 16x16 squares in opposite corners, one DIRTYFB with 2 clips
 *   3. a 64x64 cursor set at (100,100). This is also a barrier: the kernel
 *      transfers the cursor image with a fenced command and waits for it,
 *      and the host runs the control queue in order, so every transfer
 *      queued before has read guest memory by now (DIRTYFB itself returns
 *      before the host has copied anything).
 *   4. a 32x32 square drawn but never dirtied (must NOT reach the display)
 *   5. 20 boxes of 64x48, one DIRTYFB with one clip each
 *   6. the cursor moved 3 times
 *   7. a second cursor image at the last position: the same barrier, so the
 *      host has handled every flush above before "DRMTEST DONE" is printed
 * Build: gcc -static -O2 -I/usr/include/libdrm -o drmtest drmtest.c
 */
#include <drm.h>
#include <drm_mode.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd;

static void die(const char *what) {
  printf("DRMTEST FAIL %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static void xioctl(unsigned long req, void *arg, const char *what) {
  int r;
  do {
    r = ioctl(fd, req, arg);
  } while (r == -1 && (errno == EINTR || errno == EAGAIN));
  if (r == -1) die(what);
}

/* The pixel functions the host recomputes (tests/gpu2d/e2e_test.ts). */
static uint32_t gradient(uint32_t x, uint32_t y) {
  return ((x * 255 / 1279) & 0xff) << 16 | ((y * 255 / 799) & 0xff) << 8 | ((x + y) & 0xff);
}
static uint32_t box_color(uint32_t i) { return 0x00ff0000u >> (i % 3 * 8) | (i * 12) << 8; }

struct fb {
  uint32_t w, h, pitch, handle, fb_id;
  uint32_t *px;
};

static void fill(struct fb *f, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint32_t c) {
  for (uint32_t y = y0; y < y0 + h; y++)
    for (uint32_t x = x0; x < x0 + w; x++) f->px[y * (f->pitch / 4) + x] = c;
}

static void dirty(struct fb *f, struct drm_clip_rect *clips, uint32_t n) {
  struct drm_mode_fb_dirty_cmd d = {.fb_id = f->fb_id, .num_clips = n, .clips_ptr = (uintptr_t)clips};
  xioctl(DRM_IOCTL_MODE_DIRTYFB, &d, "DIRTYFB");
}

static void dumb(struct fb *f, uint32_t w, uint32_t h) {
  struct drm_mode_create_dumb c = {.width = w, .height = h, .bpp = 32};
  xioctl(DRM_IOCTL_MODE_CREATE_DUMB, &c, "CREATE_DUMB");
  struct drm_mode_map_dumb m = {.handle = c.handle};
  xioctl(DRM_IOCTL_MODE_MAP_DUMB, &m, "MAP_DUMB");
  f->px = mmap(0, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.offset);
  if (f->px == MAP_FAILED) die("mmap");
  f->w = w;
  f->h = h;
  f->pitch = c.pitch;
  f->handle = c.handle;
}

int main(int argc, char **argv) {
  int hold = argc > 1 ? atoi(argv[1]) : 3;
  fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
  if (fd < 0) die("open card0");

  struct drm_mode_card_res res = {0};
  xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res, "GETRESOURCES");
  uint32_t crtcs[8], conns[8], encs[8], fbs[8];
  if (res.count_crtcs > 8 || res.count_connectors > 8 || res.count_encoders > 8) die("too many objects");
  res.crtc_id_ptr = (uintptr_t)crtcs;
  res.connector_id_ptr = (uintptr_t)conns;
  res.encoder_id_ptr = (uintptr_t)encs;
  res.fb_id_ptr = (uintptr_t)fbs;
  res.count_fbs = 0;
  xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res, "GETRESOURCES 2");

  struct drm_mode_get_connector conn = {.connector_id = conns[0]};
  xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &conn, "GETCONNECTOR");
  struct drm_mode_modeinfo modes[64];
  if (conn.count_modes == 0 || conn.count_modes > 64) die("connector modes");
  conn.modes_ptr = (uintptr_t)modes;
  conn.count_props = 0;
  conn.count_encoders = 0;
  xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &conn, "GETCONNECTOR 2");
  struct drm_mode_modeinfo *mode = &modes[0];
  for (uint32_t i = 0; i < conn.count_modes; i++)
    if (modes[i].hdisplay == 1280 && modes[i].vdisplay == 800) mode = &modes[i];
  if (mode->hdisplay != 1280 || mode->vdisplay != 800) die("no 1280x800 mode");

  struct fb f;
  dumb(&f, 1280, 800);
  struct drm_mode_fb_cmd add = {.width = 1280, .height = 800, .pitch = f.pitch, .bpp = 32, .depth = 24, .handle = f.handle};
  xioctl(DRM_IOCTL_MODE_ADDFB, &add, "ADDFB");
  f.fb_id = add.fb_id;
  fill(&f, 0, 0, 1280, 800, 0);
  struct drm_mode_crtc crtc = {.crtc_id = crtcs[0], .fb_id = f.fb_id, .set_connectors_ptr = (uintptr_t)&conns[0],
                               .count_connectors = 1, .mode = *mode, .mode_valid = 1};
  xioctl(DRM_IOCTL_MODE_SETCRTC, &crtc, "SETCRTC");
  printf("DRMTEST SETCRTC fb %u pitch %u\n", f.fb_id, f.pitch);

  /* 1: full-frame gradient, no clips */
  for (uint32_t y = 0; y < 800; y++)
    for (uint32_t x = 0; x < 1280; x++) f.px[y * (f.pitch / 4) + x] = gradient(x, y);
  dirty(&f, 0, 0);
  printf("DRMTEST DIRTY 0 clips\n");

  /* 2: two corners, one call */
  fill(&f, 0, 0, 16, 16, 0x00ffffff);
  fill(&f, 1264, 784, 16, 16, 0x00ffff00);
  struct drm_clip_rect two[2] = {{0, 0, 16, 16}, {1264, 784, 1280, 800}};
  dirty(&f, two, 2);
  printf("DRMTEST DIRTY 2 clips\n");

  /* 3: hardware cursor (and a barrier, see above) */
  struct fb cur;
  dumb(&cur, 64, 64);
  for (uint32_t y = 0; y < 64; y++)
    for (uint32_t x = 0; x < 64; x++) cur.px[y * (cur.pitch / 4) + x] = (x < 2 || y < 2 || x == y) ? 0xff000000u | x << 16 | y << 8 : 0;
  struct drm_mode_cursor mc = {.flags = DRM_MODE_CURSOR_BO | DRM_MODE_CURSOR_MOVE, .crtc_id = crtcs[0],
                               .x = 100, .y = 100, .width = 64, .height = 64, .handle = cur.handle};
  xioctl(DRM_IOCTL_MODE_CURSOR, &mc, "CURSOR set");

  /* 4: drawn, never dirtied */
  fill(&f, 600, 250, 32, 32, 0x00ffffff);

  /* 5: 20 boxes, one clip each */
  for (uint32_t i = 0; i < 20; i++) {
    uint32_t x = 20 + (i % 10) * 120, y = 100 + (i / 10) * 300;
    fill(&f, x, y, 64, 48, box_color(i));
    struct drm_clip_rect c = {x, y, x + 64, y + 48};
    dirty(&f, &c, 1);
  }
  printf("DRMTEST DIRTY 20 boxes\n");

  /* 6: cursor moves */
  for (int i = 1; i <= 3; i++) {
    struct drm_mode_cursor mv = {.flags = DRM_MODE_CURSOR_MOVE, .crtc_id = crtcs[0], .x = 100 + 50 * i, .y = 100 + 20 * i};
    xioctl(DRM_IOCTL_MODE_CURSOR, &mv, "CURSOR move");
  }
  /* 7: barrier (a new cursor BO means a fenced transfer the kernel waits for) */
  struct fb cur2;
  dumb(&cur2, 64, 64);
  memcpy(cur2.px, cur.px, cur.pitch * 64);
  struct drm_mode_cursor mc2 = {.flags = DRM_MODE_CURSOR_BO, .crtc_id = crtcs[0], .width = 64, .height = 64, .handle = cur2.handle};
  xioctl(DRM_IOCTL_MODE_CURSOR, &mc2, "CURSOR barrier");
  printf("DRMTEST CURSOR\n");
  printf("DRMTEST DONE\n");
  fflush(stdout);
  sleep(hold);
  return 0;
}
