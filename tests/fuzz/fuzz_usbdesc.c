/* fuzz_usbdesc.c - libFuzzer target for hotplug_descriptors_have_iface():
 * the sysfs "descriptors" bytes of any device plugged into the dock are
 * attacker-controlled. The parser must stay in bounds and terminate; its
 * answer must not depend on bytes past the first malformed descriptor, and
 * must be the same when the input is copied to an exactly-sized buffer (so
 * ASan catches any read past the end).
 *
 * Seeds: tests/fuzz/corpus/fuzz_usbdesc/ (the emulated camera's descriptors
 * and a mass-storage device).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotplug.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	bool a, b;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	a = hotplug_descriptors_have_iface(copy, size);
	b = hotplug_descriptors_have_iface(data, size);
	if (a != b)
		abort();
	free(copy);
	return 0;
}
