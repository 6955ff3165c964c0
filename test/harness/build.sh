#!/bin/bash
# placeholder until the libcni harness lands
true
