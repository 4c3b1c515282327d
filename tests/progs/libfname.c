/*
 * libfname - a module that hands out one string literal, its fence class
 * name, for fence-names.  Built twice with names of the same length, so
 * that both builds lay the literal out at the same offset.
 */
const char *fname_get(void);

const char *fname_get(void)
{
	return FNAME;
}
