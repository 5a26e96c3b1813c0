# two-devices.gp -- written by gpusim-bench: the policies of scenario two-devices.
# Draw again with: gnuplot two-devices.gp (in this directory)
$data << EOD
# policy sim_time_ns blocked_ns pinned_pages violations
"none" 97762752 0 4096 0
"pin" 108018452 0 4096 0
"pin-persistent" 91413452 0 4096 0
"fence-wait" 97762752 0 4096 0
"fence-reload" 97762752 0 4096 0
"refault" 93835454 0 4096 0
EOD
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by 30 right nomirror
set grid ytics
set key off
set terminal svg size 1000,700 dynamic noenhanced font 'sans,11' background '#ffffff'
set output 'two-devices.svg'
set multiplot layout 2,2 title 'two-devices'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:118.82]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ns'
set yrange [0:1]
plot $data using ($3 / 1):xtic(1) notitle lc rgb '#ee6677'
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:4505.6]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:1]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
set terminal pngcairo size 1000,700 noenhanced font 'sans,10'
set output 'two-devices.png'
set multiplot layout 2,2 title 'two-devices'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:118.82]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ns'
set yrange [0:1]
plot $data using ($3 / 1):xtic(1) notitle lc rgb '#ee6677'
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:4505.6]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:1]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
